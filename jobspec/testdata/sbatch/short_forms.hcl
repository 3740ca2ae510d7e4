# Converted from short_forms.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "short" {
  queue      = "default"
  priority   = 25
  time_limit = "15m"
  depends_on = ["afterany:7"]
  code       = "."

  resources {
    cpu    = 4
    memory = "1GiB"
    gpu {
      count = 1
    }
  }

  task {
    nproc_per_node = 2
    script         = <<EOT
#!/bin/bash
# Every short form nai reads, with values attached and apart.
#SBATCH -J short -t 15 -N1 -n 2
#SBATCH -c2 -G 1 -p default
#SBATCH -o out.log -e err.log
#SBATCH -a 1-3 -d afterany:7 -D work -q low

python3 work.py
EOT
    workdir        = "work"
  }

  logs {
    stdout = "out.log"
    stderr = "err.log"
  }

  sweep {
    values = {
      SLURM_ARRAY_TASK_ID = [1, 2, 3]
    }
  }
}
