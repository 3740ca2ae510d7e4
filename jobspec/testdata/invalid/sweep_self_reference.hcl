job "self" {
  code = "./src-${sweep.lr}"
  sweep {
    values = {
      lr    = [0.1]
      batch = [sweep.lr]
    }
  }
  task {
    command = "true"
  }
}
