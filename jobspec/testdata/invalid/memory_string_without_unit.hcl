job "bare" {
  resources {
    memory = "10"
  }
  task {
    command = "true"
  }
}
