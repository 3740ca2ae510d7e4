job "pairs" {
  sweep {
    mode = "zip"
    values = {
      model = ["small", "base", "large"]
      gpus  = [1, 2, 4]
    }
  }

  labels = {
    size = sweep.model
  }

  resources {
    gpu {
      count = sweep.gpus
    }
  }

  task {
    command = "python3"
    args    = ["train.py", "--model", sweep.model]
  }
}
