variable "epochs" {
  type        = number
  default     = 5
  description = "How many passes over the data."
}

variable "gpus" {
  type    = number
  default = 1
}

variable "name" {
  default = "run"
}

job "vars" {
  description = "${var.name}: ${var.epochs} epochs"
  resources {
    gpu {
      count = var.gpus
    }
  }
  task {
    command = "python3"
    args    = ["train.py", "--epochs", var.epochs]
  }
}
