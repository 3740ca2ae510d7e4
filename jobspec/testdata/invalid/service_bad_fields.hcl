job "api" {
  type       = "servce"
  time_limit = "1h"
  task {
    command = "python3"
  }
}
