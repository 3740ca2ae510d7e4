job "both" {
  task {
    command = "true"
  }

  output {
    model   = "m"
    dataset = "no spaces"
  }
}
