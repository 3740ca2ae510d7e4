job "-bad-name" {
  queue = "no spaces please"
  task {
    command = "true"
    env = {
      "1BAD" = "x"
    }
  }
}
