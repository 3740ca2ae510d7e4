# Server 1 of a three-server cluster on one machine (see README.md).
node_name  = "server1"
datacenter = "dc1"
data_dir   = "/tmp/nai-cluster/server1"
bind_addr  = "127.0.0.1"

ports {
  http = 4646
  raft = 4647
  serf = 4648
}

server {
  enabled          = true
  bootstrap_expect = 3
  node_down_grace  = "30s"
}

# The first server joins nobody: the others join it.
