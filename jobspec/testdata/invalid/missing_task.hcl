job "nothing" {
  priority = 5
}
