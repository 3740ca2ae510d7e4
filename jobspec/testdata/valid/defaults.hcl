job "defaults" {
  task {
    command = "/bin/true"
  }
}
