job "greedy" {
  resources {
    gpu {
      count = 100000
    }
  }
  task {
    command = "true"
  }
}
