# Converted from quoting.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "quoted-name" {
  queue       = "default"
  priority    = 50
  description = "it's a test"
  code        = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# Quotes group words, a backslash escapes, and an unquoted # starts a comment.
#SBATCH --job-name="quoted name"   # becomes quoted-name
#SBATCH --comment='it'"'"'s a test'
#SBATCH --output=logs/run\ %j.out # an escaped space
#SBATCH --export=GREETING="hello world"
#SBATCH
  #SBATCH --time=5

echo "$GREETING"
EOT
    env = {
      GREETING = "hello world"
    }
  }

  logs {
    stdout = "logs/run %j.out"
  }
}
