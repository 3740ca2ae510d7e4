# Server 2 of a three-server cluster on one machine (see README.md).
node_name  = "server2"
datacenter = "dc1"
data_dir   = "/tmp/nai-cluster/server2"
bind_addr  = "127.0.0.1"

ports {
  http = 5646
  raft = 5647
  serf = 5648
}

server {
  enabled          = true
  bootstrap_expect = 3
  node_down_grace  = "30s"
}

# Any agent's serf address will do; every agent names the first server.
join = ["127.0.0.1:4648"]
