job "api" {
  type = "service"
  task {
    command = "python3"
  }
  service {
    health {
      path     = "/../admin"
      interval = "0s"
    }
  }
}
