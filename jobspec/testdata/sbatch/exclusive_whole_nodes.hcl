# Converted from exclusive_whole_nodes.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "benchmark" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu       = 1
    memory    = "500GiB"
    exclusive = true
    gpu {
      count = 8
    }
  }

  task {
    script = <<EOT
#!/bin/bash
#SBATCH --job-name=benchmark
#SBATCH --exclusive=user
#SBATCH --nodes=1
#SBATCH --gpus=8
#SBATCH --mem=500G

python3 bench.py --all-gpus
EOT
  }
}
