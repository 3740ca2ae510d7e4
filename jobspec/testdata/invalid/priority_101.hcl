job "vip" {
  priority = 101
  task {
    command = "true"
  }
}
