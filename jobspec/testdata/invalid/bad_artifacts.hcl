job "artifacts" {
  dataset "digits" {
    version = "newest"
  }
  dataset "digits" {}
  model "bad name" {}
  output {
    model = "has space"
    keep  = ["[unclosed"]
  }
  task {
    command = "true"
  }
}
