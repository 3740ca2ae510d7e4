# GPU host 1 (fake GPUs, so it runs on a laptop) of the example cluster.
node_name  = "gpu1"
datacenter = "dc1"
data_dir   = "/tmp/nai-cluster/gpu1"
bind_addr  = "127.0.0.1"

ports {
  http = 7646
  serf = 7648
}

client {
  enabled       = true
  dev_gpus      = 4  # 0 on a real GPU host: use NVML
  cgroup_parent = "" # empty: nest under the agent's own cgroup

  reserved {
    cpu    = 0.5
    memory = "512MiB"
  }
}

join = ["127.0.0.1:4648"]
