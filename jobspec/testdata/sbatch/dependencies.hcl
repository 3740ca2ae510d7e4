# Converted from dependencies.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "evaluate" {
  queue      = "default"
  priority   = 50
  time_limit = "45m"
  depends_on = ["afterok:101", "afterok:102", "afterany:103"]
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# Evaluate once training jobs 101 and 102 succeed and cleanup 103 has ended.
#SBATCH --job-name=evaluate
#SBATCH --dependency=afterok:101:102,afterany:103
#SBATCH --time=45

python3 evaluate.py --checkpoints checkpoints/
EOT
  }
}
