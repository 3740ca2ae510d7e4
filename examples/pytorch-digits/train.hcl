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

variable "backend" {
  type    = string
  default = "auto" # PyTorch when installed; "stdlib" trains softmax regression (linear.py)
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
    env     = { NAI_DIGITS_BACKEND = var.backend }
  }

  # The outputs (weights, serve.py) become the next version of the model;
  # serve.py among them makes `nai serve digits-cnn` work.
  output {
    model = "digits-cnn"
  }
}
