# /etc/nai/client.hcl: a nai client on a GPU host (run by nai-client.service).
# Every setting and its default: cmd/nai/agent_config.go. Command-line
# flags win over this file; `systemctl reload nai-client` re-reads it
# (log_level and client.reserved take effect at once, running jobs keep
# running; other changes need a restart).

# Defaults to the host name; must be unique in the cluster.
# node_name = "gpu1"

datacenter = "dc1"
data_dir   = "/var/lib/nai/client"

# The address the servers reach this host at (they fetch job logs from it).
bind_addr = "192.0.2.21"

# debug, info, warn or error.
log_level = "info"

ports {
  http = 4646
  serf = 4648
}

client {
  enabled = true
  # 0: the real GPUs, found through NVML (libnvidia-ml from the driver).
  # N > 0: N fake GPUs, for trying nai on a machine without any.
  dev_gpus = 0
  # Empty: allocation cgroups go under the agent's own cgroup (systemd
  # delegates it: Delegate=yes in nai-client.service).
  cgroup_parent = ""

  # Kept for the host and not offered to jobs.
  reserved {
    cpu    = 1
    memory = "2GiB"
  }

  # Tasks run as their users' unix accounts, never as root.
  allow_root_tasks = false

  # Each log file (stdout, stderr) of a job is cut here, with a marker
  # line; "0": no cap.
  # log_max = "10GiB"

  # The data dir must keep this much free for a job to start here; below
  # it, a job placed here goes back to the queue and the node drains
  # itself (docs/operations.md, "A full disk"). Default: 1GiB, or 5% of
  # the data dir's filesystem when that is less; "0": no check.
  # min_free_disk = "1GiB"
}

# Every API call needs a token. This node registers with a token of policy
# node (`nai token create -policy node`, or the servers'
# initial_node_token): keep this file mode 0600 once it holds one.
acl {
  enabled = true
  # agent_token = "..."
}

# The serf addresses of the servers (any one is enough; list them all).
join = ["192.0.2.11:4648", "192.0.2.12:4648", "192.0.2.13:4648"]

# Gossip encryption: the same key on every agent, from `nai operator keygen`.
# The servers need it (or TLS), so the GPU hosts do too. Keep this file
# unreadable to jobs (mode 0600, root): the key keeps others out of serf.
# encrypt = "..."
