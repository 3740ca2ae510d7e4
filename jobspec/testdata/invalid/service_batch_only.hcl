job "api" {
  type       = "service"
  time_limit = "1h"
  resources {
    nodes = 2
  }
  task {
    command = "python3"
  }
  retry {
    attempts = 1
  }
  service {
    port = "HTTP port"
  }
}
