job "mode" {
  sweep {
    mode   = "gird"
    values = { lr = [1] }
  }
  task {
    command = "echo"
    args    = [sweep.lrr]
  }
}
