# Converted from chdir_absolute.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "scratch-run" {
  queue       = "default"
  priority    = 50
  begin_after = "1h30m"
  code        = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script  = <<EOT
#!/bin/bash
#SBATCH --job-name=scratch-run
#SBATCH -D /scratch/alice/run42
#SBATCH --export=ALL
#SBATCH --begin=now+90minutes

./run.sh
EOT
    workdir = "/scratch/alice/run42"
  }
}
