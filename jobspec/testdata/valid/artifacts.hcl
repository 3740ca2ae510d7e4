job "finetune" {
  code = "../train"

  dataset "digits" {
    version = "latest"
  }
  dataset "digits-extra" {
    version = "12"
  }
  model "base-mlp" {
    version = 2
  }

  output {
    model = "digits-mlp"
  }

  task {
    command = "python3"
    args    = ["finetune.py"]
  }
}
