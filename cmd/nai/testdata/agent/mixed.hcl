server {
  enabled         = true
  raft_multipler  = 5
  node_down_grace = "30 seconds"
}
clinet {
  enabled = true
}
