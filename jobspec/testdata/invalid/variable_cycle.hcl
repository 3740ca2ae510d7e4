locals {
  a = "${local.b}-x"
  b = upper(local.c)
  c = local.a
}

job "cycle" {
  task {
    command = local.a
  }
}
