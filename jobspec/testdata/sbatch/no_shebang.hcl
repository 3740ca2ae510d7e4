# Converted from no_shebang.sbatch by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "plain" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu    = 1
    memory = "1500MiB"
  }

  task {
    script = <<EOT
#SBATCH --job-name=plain
#SBATCH --mem=1500M
python3 -c 'print("a script found by its #SBATCH lines and .sbatch name")'
EOT
  }
}
