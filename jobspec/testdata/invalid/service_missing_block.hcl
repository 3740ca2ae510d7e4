job "api" {
  type = "service"
  task {
    command = "python3"
  }
}
