# Converted from array_mixed.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "shards" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# Ranges, single ids and a repeat (counted once, as Slurm does).
#SBATCH --job-name=shards
#SBATCH --array=0-3,10,20-30:5,3%3
#SBATCH --output=logs/shard-%A_%3a.out

python3 preprocess.py --shard "$SLURM_ARRAY_TASK_ID"
EOT
  }

  logs {
    stdout = "logs/shard-%A_%3a.out"
  }

  sweep {
    max_parallel = 3
    values = {
      SLURM_ARRAY_TASK_ID = [0, 1, 2, 3, 10, 20, 25, 30]
    }
  }
}
