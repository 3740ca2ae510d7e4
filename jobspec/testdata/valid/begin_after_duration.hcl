# begin_after as a duration counts from Options.Now (2026-01-01T00:00:00Z in tests).
job "later" {
  begin_after = "2h"
  task {
    command = "true"
  }
}
