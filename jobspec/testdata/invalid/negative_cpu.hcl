job "negative" {
  resources {
    cpu = -2
  }
  task {
    command = "true"
  }
}
