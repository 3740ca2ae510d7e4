variable "epochs" {
  default = 3
}

job "undeclared" {
  task {
    command = "python3"
    args    = ["--epochs", var.epoch, foo.bar]
  }
}
