variable "base" {
  default = "exp"
}

locals {
  run_name = "${local.prefix}-${var.base}"
  args     = concat(local.common, ["--name", local.run_name])
}

locals {
  prefix = "nai"
  common = ["--seed", 1]
}

job "locals" {
  description = local.run_name
  task {
    command = "python3"
    args    = local.args
  }
}
