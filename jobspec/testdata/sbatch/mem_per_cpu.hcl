# Converted from mem_per_cpu.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "dataload" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu    = 12
    memory = "24GiB"
    disk   = "100GiB"
  }

  task {
    nproc_per_node = 4
    script         = <<EOT
#!/bin/bash
# 4 tasks of 3 CPUs with 2 GiB per CPU: 12 CPUs and 24 GiB on the node.
#SBATCH --job-name=dataload
#SBATCH --ntasks=4
#SBATCH --cpus-per-task=3
#SBATCH --mem-per-cpu=2G
#SBATCH --tmp=100G

python3 build_shards.py --workers 12
EOT
  }
}
