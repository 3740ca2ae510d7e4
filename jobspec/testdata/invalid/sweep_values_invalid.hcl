job "badvalues" {
  sweep {
    max_parallel = -1
    values = {
      "learning-rate" = [0.1]
      empty           = []
      nested          = [[1, 2]]
      scalar          = 5
    }
  }
  task {
    command = "true"
  }
}
