job "echo" {
  type = "service"
  task {
    command = "python3"
    args    = ["-m", "http.server"]
  }
  service {}
}
