data_dir = "/tmp/x"
server {
  enabled         = true
  node_down_grace = "soon"
  dead_server_threshold = "never"
  blob_retention  = "0s"
}
client {
  reserved {
    memory = "lots"
  }
}
