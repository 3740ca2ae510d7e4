job "both" {
  task {
    command = "python3"
    script  = <<-EOT
      python3 train.py
    EOT
  }
}
