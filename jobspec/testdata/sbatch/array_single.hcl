# Converted from array_single.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "rerun-7" {
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
# An array of one: rerun a single failed task of an earlier array.
#SBATCH --job-name=rerun-7
#SBATCH --array=7

python3 train.py --fold "$SLURM_ARRAY_TASK_ID"
EOT
  }

  sweep {
    values = {
      SLURM_ARRAY_TASK_ID = [7]
    }
  }
}
