# A model behind an HTTP API: two replicas, each on a port the client picks.
job "digits-api" {
  type  = "service"
  group = "vision"

  model "digits-cnn" {
    version = 2
  }

  resources {
    cpu    = 1
    memory = "512MiB"
  }

  task {
    command = "python3"
    args    = ["serve.py"]
  }

  service {
    replicas        = 2
    port            = "http"
    unhealthy_after = 5
    public          = true
    preemptible     = true
    shutdown_delay  = "2s"
    health {
      path     = "/health"
      interval = "2s"
      timeout  = "1s"
      grace    = "1m"
    }
  }
}
