job "times" {
  time_limit  = "2 days"
  begin_after = "tomorrow"
  task {
    command = "true"
  }
}
