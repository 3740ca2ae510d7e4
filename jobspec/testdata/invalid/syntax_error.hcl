job "broken" {
  priority = 
  task {
    command = "true"
  }
}
