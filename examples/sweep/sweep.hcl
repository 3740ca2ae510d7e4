# A hyperparameter sweep over the quickstart trainer: 3 learning rates x 2
# hidden sizes = 6 jobs, at most 2 running at once.
#
#   nai job run examples/sweep/sweep.hcl
#   nai job run -var epochs=50 examples/sweep/sweep.hcl
variable "epochs" {
  type        = number
  default     = 200
  description = "Training epochs for every member of the sweep."
}

job "quickstart-sweep" {
  time_limit  = "10m"
  description = "lr=${sweep.lr} hidden=${sweep.hidden}"

  code = "../quickstart"

  sweep {
    mode         = "grid"
    max_parallel = 2
    values = {
      lr     = [0.5, 0.1, 0.02]
      hidden = [8, 16]
    }
  }

  resources {
    cpu    = 0.5
    memory = "256MiB"
    gpu {
      count = 1
    }
  }

  task {
    command = "python3"
    args    = ["train.py"]
    env = {
      EPOCHS = var.epochs
      LR     = sweep.lr
      HIDDEN = sweep.hidden
      SEED   = "1"
    }
  }
}
