node_name  = "gpu-07"
datacenter = "dc1"
data_dir   = "/var/lib/nai"
bind_addr  = "10.0.0.7"
ports {
  http = 4646
  raft = 4647
  serf = 4648
}
server {
  enabled          = true
  bootstrap_expect = 3
  node_down_grace  = "30s"

  cleanup_dead_servers  = true
  dead_server_threshold = "30m"
}
client {
  enabled       = true
  dev_gpus      = 0
  cgroup_parent = ""
  reserved {
    cpu    = 1
    memory = "2GiB"
  }
}
join    = ["10.0.0.1:4648"]
encrypt = "6EcAhT9Cl8mJtWOLumWOVg9LFjIrBc0Q4DYkEK3w1jU="
