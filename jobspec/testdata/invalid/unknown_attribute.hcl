job "typo" {
  prioirty = 10
  resources {
    memroy = "4GiB"
  }
  taks {
    command = "true"
  }
}
