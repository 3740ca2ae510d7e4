job "idle" {
  task {
    env = { A = "1" }
  }
}
