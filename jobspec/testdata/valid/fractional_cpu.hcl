job "half-core" {
  resources {
    cpu    = 0.5
    memory = "512MiB"
  }
  task {
    command = "sleep"
    args    = ["1"]
  }
}
