job "train" {
  task {
    command = "python3"
  }
  service {
    replicas = 2
  }
}
