# The minimal job file of issue 2.
job "hello" {
  priority   = 60
  time_limit = "30m"

  resources {
    cpu    = 2
    memory = "4GiB"
    gpu {
      count = 1
    }
  }

  task {
    command = "python3"
    args    = ["train.py", "--epochs", 5]
    env     = { SEED = "1" }
  }
}
