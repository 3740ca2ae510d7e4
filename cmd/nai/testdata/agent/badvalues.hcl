data_dir = "/tmp/x"
server {
  enabled         = true
  node_down_grace = "soon"
}
client {
  reserved {
    memory = "lots"
  }
}
