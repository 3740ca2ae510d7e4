job "huge" {
  sweep {
    values = {
      a = range(100)
      b = range(101)
    }
  }
  task {
    command = "echo"
    args    = [sweep.a, sweep.b]
  }
}
