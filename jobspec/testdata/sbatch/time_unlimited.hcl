# Converted from time_unlimited.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "notebook-server" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu    = 3
    memory = "1GiB"
    nodes  = 2
  }

  task {
    nproc_per_node = 3
    script         = <<EOT
#!/bin/bash
#SBATCH --time=UNLIMITED
#SBATCH --job-name=notebook-server
#SBATCH --nodes=2-4
#SBATCH --ntasks=6

jupyter lab --no-browser --port 8888
EOT
  }
}
