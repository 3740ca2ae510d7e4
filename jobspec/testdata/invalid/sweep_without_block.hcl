job "nosweep" {
  task {
    command = "echo"
    args    = [sweep.lr]
  }
}
