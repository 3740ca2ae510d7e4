# Server 3 of a three-server cluster on one machine (see README.md).
node_name  = "server3"
datacenter = "dc1"
data_dir   = "/tmp/nai-cluster/server3"
bind_addr  = "127.0.0.1"

ports {
  http = 6646
  raft = 6647
  serf = 6648
}

server {
  enabled          = true
  bootstrap_expect = 3
  node_down_grace  = "30s"
}

# Any agent's serf address will do; every agent names the first server.
join = ["127.0.0.1:4648"]
