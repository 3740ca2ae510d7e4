job "artifacts" {
  dataset "digits" {
    version = "newest"
  }
  dataset "digits" {}
  model "bad name" {}
  output {
    model = "has space"
    keep  = ["[unclosed", "/abs.pt"]
  }
  task {
    command = "true"
  }
}
