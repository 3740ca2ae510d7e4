# The digits model behind an HTTP API, from a job file rather than
# `nai serve`: two replicas of the model version's serve.py, each on a port
# its client picks. Run it with `nai job run -detach service.hcl`, call it
# at $NAI_ADDR/v1/services/digits-api/predict, stop it with
# `nai service stop digits-api`.
job "digits-api" {
  type = "service"

  model "digits-cnn" {
    version = "latest"
  }

  resources {
    cpu    = 1
    memory = "512MiB"
  }

  task {
    script = <<-EOT
      cd "$NAI_MODEL_DIR" && exec python3 serve.py
    EOT
  }

  service {
    replicas = 2
    health {
      path     = "/health"
      interval = "2s"
      timeout  = "1s"
    }
  }
}
