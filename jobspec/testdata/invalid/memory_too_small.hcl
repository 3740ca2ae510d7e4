job "tiny" {
  resources {
    memory = "1MiB"
  }
  task {
    command = "true"
  }
}
