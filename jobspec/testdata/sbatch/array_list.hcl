# Converted from array_list.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "seeds" {
  queue      = "default"
  priority   = 50
  time_limit = "30m"
  code       = "."

  resources {
    cpu    = 2
    memory = "8000MiB"
  }

  task {
    script = <<EOT
#!/bin/bash
#SBATCH -J seeds
#SBATCH -a 1,3,5,7,11
#SBATCH -t 30:00
#SBATCH --cpus-per-task=2
#SBATCH --mem=8000

python3 train.py --seed "$SLURM_ARRAY_TASK_ID"
EOT
  }

  sweep {
    values = {
      SLURM_ARRAY_TASK_ID = [1, 3, 5, 7, 11]
    }
  }
}
