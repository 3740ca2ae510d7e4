# The whole user story with real PyTorch: see README.md, or run
# `make example-pytorch`.
variable "gpus" {
  type    = number
  default = 0 # CPU; give 1 on a GPU host
}

variable "epochs" {
  type    = number
  default = 10
}

job "digits-cnn" {
  time_limit = "30m"
  code       = "." # this folder, less what .naiignore names

  dataset "digits" {
    version = "latest"
  }

  resources {
    cpu    = 2
    memory = "2GiB"
    gpu {
      count = var.gpus
    }
  }

  task {
    # Debian's python3-torch installs for /usr/bin/python3, which may not
    # be the first python3 on PATH.
    command = "/usr/bin/python3"
    args    = ["train.py", "--epochs", var.epochs]
  }

  output {
    model = "digits-cnn"
  }
}
