# Converted from python_script.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "pyjob" {
  queue      = "default"
  priority   = 50
  time_limit = "2m"
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/usr/bin/env python3
# Slurm runs a batch script with the interpreter its #! line names; so does nai.
#SBATCH --job-name=pyjob
#SBATCH --cpus-per-task=1
#SBATCH --time=2
import os

print("SLURM_JOB_ID=" + os.environ.get("SLURM_JOB_ID", ""))
EOT
  }
}
