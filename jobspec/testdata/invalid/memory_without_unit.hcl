job "bare" {
  time_limit = 90
  resources {
    memory = 4
  }
  task {
    command = "true"
  }
}
