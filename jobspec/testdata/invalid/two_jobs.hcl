job "first" {
  task {
    command = "true"
  }
}

job "second" {
  task {
    command = "true"
  }
}
