job "dups" {
  task {
    command = "true"
  }
  task {
    command = "false"
  }
  resources {
    gpu {
      count = 1
    }
    gpu {
      count = 2
    }
  }
}
