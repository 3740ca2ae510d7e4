job "x" {
  task {
    command = "/bin/true"
    args = [for p in setproduct(range(1000), range(1000), range(1000)) : "a"]
  }
}
