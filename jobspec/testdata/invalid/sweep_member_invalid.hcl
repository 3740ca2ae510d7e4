job "member" {
  sweep {
    values = {
      gpus = [1, 2000]
    }
  }
  resources {
    gpu {
      count = sweep.gpus
    }
  }
  task {
    command = "true"
  }
}
