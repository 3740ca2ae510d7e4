locals {
  lr = sweep.lr
}

job "locals-sweep" {
  sweep {
    values = { lr = [1, 2] }
  }
  task {
    command = "true"
  }
}
