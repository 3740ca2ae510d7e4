# A job whose outputs become the next version of a dataset.
job "preprocess" {
  dataset "raw" {
    version = 2
  }

  task {
    command = "python3"
    args    = ["clean.py"]
  }

  output {
    dataset = "clean"
  }
}
