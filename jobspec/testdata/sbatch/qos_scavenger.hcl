# Converted from qos_scavenger.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "hyperopt-bg" {
  queue       = "default"
  priority    = 10
  preemptible = true
  code        = "."

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
# Scavenger work: lowest priority, and preemptible.
#SBATCH --job-name=hyperopt-bg
#SBATCH --qos=scavenger
#SBATCH --gres=gpu:1
#SBATCH --requeue

python3 hyperopt_worker.py
EOT
  }
}
