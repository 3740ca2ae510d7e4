job "evaluate" {
  depends_on = ["afterok:41", "42", "afterany:43", "afternotok:44"]
  retry {
    attempts = 2
    on       = ["failed"]
  }
  task {
    command = "python3"
    args    = ["eval.py"]
  }
}
