variable "dataset" {
  type = string
}

job "needs-var" {
  task {
    command = var.dataset
  }
}
