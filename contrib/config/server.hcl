# /etc/nai/server.hcl: a nai server (run by nai-server.service).
# Every setting and its default: cmd/nai/agent_config.go. Command-line
# flags win over this file; `systemctl reload nai-server` re-reads it
# (log_level takes effect at once; other changes need a restart).

# Defaults to the host name; must be unique in the cluster.
# node_name = "server1"

datacenter = "dc1"
data_dir   = "/var/lib/nai/server"

# The address other agents reach this host at (not 0.0.0.0): the HTTP API,
# raft and serf listen on it and advertise it.
bind_addr = "192.0.2.11"

# debug, info, warn or error.
log_level = "info"

ports {
  http = 4646
  raft = 4647
  serf = 4648
}

server {
  enabled = true
  # The same on every server: they bootstrap raft together once serf shows
  # this many of them. Use 3 or 5.
  bootstrap_expect = 3
  # How long a GPU host that serf declares failed stays ready before its
  # running jobs are lost (and requeued where their retry allows it).
  node_down_grace = "30s"
  # Copies of each dataset/model/output blob (0: one on every server) and
  # how long a blob that nothing references is kept.
  # blob_replicas  = 0
  # blob_retention = "24h"
  # What one user may keep uploaded that no job or version uses yet (default:
  # the user's storage quota, else 100GiB); uploads past it are refused.
  # upload_pending_limit = "100GiB"
  # Remove a server that serf has shown gone for longer than the threshold,
  # only while the servers alive are a majority; one that comes back is
  # added again (docs/operations.md, "Stopping agents").
  # cleanup_dead_servers  = true
  # dead_server_threshold = "10m"
}

# Every API call needs a token (`nai acl bootstrap`, `nai login`). When ACLs
# were never bootstrapped, the first leader makes these two: the management
# token and the token of policy node the GPU hosts register with (their
# acl.agent_token). The same on every server; `openssl rand -base64 32`.
acl {
  enabled = true
  # initial_management_token = "..."
  # initial_node_token       = "..."
}

# The serf address (host:port) of any other agent; a server lists the
# others so that any one of them can start first.
join = ["192.0.2.12:4648", "192.0.2.13:4648"]

# Gossip encryption: the same key on every agent, from `nai operator keygen`.
# Without a tls block, servers also authenticate raft with it: with ACLs on,
# a server needs this or a tls block with a server certificate, or it
# refuses to start (docs/operations.md, "Security").
# encrypt = "..."
