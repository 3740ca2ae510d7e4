# The fields a converted sbatch script uses, written by hand.
job "ddp" {
  singleton = true

  resources {
    cpu       = 16
    memory    = "64GiB"
    nodes     = 2
    exclusive = true
    gpu {
      count = 4
    }
  }

  task {
    nproc_per_node = 4
    script         = <<-EOT
      #!/bin/bash
      torchrun train.py
    EOT
  }

  logs {
    stdout = "logs/%x-%j.out"
    stderr = "logs/%x-%j.err"
  }
}
