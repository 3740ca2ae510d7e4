# Decimal and binary units, any case, fractions.
job "units" {
  resources {
    memory = "1.5GB"
    disk   = "1.5TB"
    gpu {
      count  = 2
      memory = "40gib"
    }
  }
  task {
    command = "true"
  }
}
