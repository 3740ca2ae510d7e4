job "zipped" {
  sweep {
    mode = "zip"
    values = {
      lr    = [0.1, 0.01, 0.001]
      batch = [32, 64]
    }
  }
  task {
    command = "echo"
  }
}
