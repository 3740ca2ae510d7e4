job "x" {
  description = indent(999999999, "a\nb")
  task {
    command = "/bin/true"
  }
}
