# Values come from variables_set.flags: a -var-file, then -var (which wins).
variable "epochs" {
  type = number
}

variable "lrs" {
  type    = list(number)
  default = [0.1]
}

variable "tag" {
  type    = string
  default = "none"
}

variable "debug" {
  type    = bool
  default = false
}

job "vars-set" {
  description = "tag=${var.tag} debug=${var.debug}"
  sweep {
    values = {
      lr = var.lrs
    }
  }
  task {
    command = "python3"
    args    = ["train.py", "--epochs", var.epochs, "--lr", sweep.lr]
  }
}
