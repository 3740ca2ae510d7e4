job "lr-search" {
  sweep {
    max_parallel = 2
    values = {
      lr    = [0.1, 0.01, 0.001]
      batch = [32, 64]
    }
  }

  description = "lr ${sweep.lr}, batch ${sweep.batch}"

  resources {
    gpu {
      count = 1
    }
  }

  task {
    command = "python3"
    args    = ["train.py", "--lr=${sweep.lr}", "--batch", sweep.batch]
  }
}
