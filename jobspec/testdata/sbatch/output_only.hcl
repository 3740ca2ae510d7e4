# Converted from output_only.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "merged" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# Without --error, stderr goes to the --output file too.
#SBATCH -J merged
#SBATCH -o run-%j-%u-%N.log

python3 train.py 2>&1
EOT
  }

  logs {
    stdout = "run-%j-%u-%N.log"
  }
}
