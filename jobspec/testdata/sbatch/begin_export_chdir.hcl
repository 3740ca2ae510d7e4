# Converted from begin_export_chdir.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "scheduled" {
  queue       = "default"
  priority    = 50
  begin_after = "2026-03-01T09:00:00Z"
  description = "weekly retrain"
  code        = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
#SBATCH --job-name=scheduled
#SBATCH --begin=2026-03-01T09:00
#SBATCH --export=WANDB_PROJECT,SEED=1234,WANDB_API_KEY
#SBATCH --chdir=src
#SBATCH --comment="weekly retrain"

python3 train.py --seed "$SEED"
EOT
    env = {
      SEED          = "1234"
      WANDB_PROJECT = "digits"
    }
    workdir = "src"
  }
}
