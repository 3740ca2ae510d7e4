node_name = "x"
servers {
  enabled = true
}
