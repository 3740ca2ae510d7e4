# Converted from dependency_failure.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "on-failure" {
  queue      = "default"
  priority   = 50
  time_limit = "5m"
  depends_on = ["afternotok:250"]
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# Runs only if job 250 fails: send the diagnostics somewhere safe.
#SBATCH -J on-failure
#SBATCH -d afternotok:250
#SBATCH -t 5

tar czf "$NAI_OUTPUT_DIR/diagnostics.tar.gz" logs/
EOT
  }
}
