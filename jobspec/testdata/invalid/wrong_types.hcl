job "types" {
  preemptible = "maybe"
  labels      = ["a", "b"]
  resources {
    nodes = 1.5
  }
  task {
    command = ["python3"]
  }
}
