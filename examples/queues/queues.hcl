# Queues for `nai operator queue apply examples/queues/queues.hcl`.
# The "default" queue always exists; defining it here gives it limits.

queue "default" {
  description        = "everyday training"
  default_time_limit = "4h"
  max_time_limit     = "24h"
  max_gpus_per_job   = 8
}

queue "debug" {
  description      = "quick checks on one GPU, ahead of everything else"
  max_time_limit   = "30m"
  max_gpus_per_job = 1
  priority_tier    = 1
}

queue "gpu-long" {
  description        = "multi-day runs for the ml group"
  default_time_limit = "24h"
  max_time_limit     = "72h"
  allowed_groups     = ["ml"]
  priority           = 10
}
