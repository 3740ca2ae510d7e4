job "x" {
  singleton = "yes please"

  resources {
    exclusive = 3
  }

  task {
    nproc_per_node = 0
    command        = "true"
  }

  logs {
    stderr = "err.log"
  }
}
