job "api" {
  type = "service"
  task {
    command = "python3"
  }
  service {
    replicas = -2
  }
}
