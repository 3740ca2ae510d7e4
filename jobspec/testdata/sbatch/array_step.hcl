# Converted from array_step.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "lr-search" {
  queue      = "default"
  priority   = 50
  time_limit = "10m"
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# A stepped array with a limit: task ids 0, 4, 8 and 12, at most two at once.
#SBATCH --job-name=lr-search
#SBATCH --array=0-15:4%2
#SBATCH --time=00:10:00

LRS=(0.1 0.05 0.01 0.005 0.001 0.0005 0.0001 0.00005 0.00001 0.000005 0.000001 0.0000005 0.0000001 0.00000005 0.00000001 0.000000005)
echo "task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT in array $SLURM_ARRAY_JOB_ID: lr $${LRS[$SLURM_ARRAY_TASK_ID]}"
env | grep -E '^(SLURM|PET)_' | sort
EOT
  }

  sweep {
    max_parallel = 2
    values = {
      SLURM_ARRAY_TASK_ID = range(0, 13, 4)
    }
  }
}
