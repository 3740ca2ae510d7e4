# Converted from unsupported.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "legacy" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu    = 1
    memory = "1GiB"
    gpu {
      count = 1
    }
  }

  task {
    script = <<EOT
#!/bin/bash
# Directives nai cannot honour: each gets a warning with its line.
#SBATCH --job-name=legacy
#SBATCH --account=proj-1234
#SBATCH --mail-type=END,FAIL
#SBATCH --mail-user=alice@example.com
#SBATCH --constraint=skylake
#SBATCH --nodelist=gpu[01-02]
#SBATCH --exclude=gpu07
#SBATCH --signal=B:USR1@120
#SBATCH --licenses=matlab:1
#SBATCH --gres=gpu:1,nvme:1
#SBATCH --gpu-bind=closest --wait-all-nodes 1 -V
#SBATCH --time-min=30 --open-mode=append -s
#SBATCH --parsable --wait
#SBATCH stray

python3 train.py
EOT
  }
}
