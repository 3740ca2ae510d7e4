# The quickstart job: `nai job run examples/quickstart/train.hcl`.
# It sends this folder to the cluster as the job's work dir, asks for two GPUs
# and trains a small MLP (train.py, standard library only).
job "quickstart" {
  priority   = 50
  time_limit = "10m"

  code = "."

  resources {
    cpu    = 1
    memory = "256MiB"
    gpu {
      count = 2
    }
  }

  task {
    command = "python3"
    args    = ["train.py"]
    env = {
      EPOCHS = "300"
      SEED   = "1"
    }
  }
}
