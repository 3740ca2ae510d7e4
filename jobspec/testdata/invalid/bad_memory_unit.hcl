job "units" {
  resources {
    memory = "4GB2"
    disk   = "10 parsecs"
  }
  task {
    command = "true"
  }
}
