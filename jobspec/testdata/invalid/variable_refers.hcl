variable "epochs" {
  default = 3
}

variable "seed" {
  default = var.epochs
}

job "refers" {
  task {
    command = "true"
  }
}
