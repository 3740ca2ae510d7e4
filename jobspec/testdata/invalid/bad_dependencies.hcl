job "deps" {
  depends_on = ["aftreok:12", "afterany:", "afterok:12"]
  retry {
    attempts = 200
    on       = ["node-lots", "failed"]
  }
  task {
    command = "true"
  }
}
