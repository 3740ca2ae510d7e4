# A dataset plugin: `nai plugin run split-train-val -dataset NAME[:VERSION]`
# makes the next version of the dataset (or of -output-dataset OTHER) with
# every file of the input under train/ or val/, and a split.json that lists
# them. The same input, fraction and seed give the same files, so a rerun
# makes no new version.
plugin "split-train-val" {
  version     = "1.0.0"
  kind        = "dataset"
  description = "Split a dataset of files into train/ and val/ by a seeded fraction"
}

variable "fraction" {
  type        = number
  default     = 0.8
  description = "share of the files that go to train/ (the rest go to val/), more than 0 and less than 1"
}

variable "seed" {
  type        = number
  default     = 0
  description = "seed of the shuffle: the same seed splits the same files the same way"
}

job "split-train-val" {
  time_limit = "1h"

  resources {
    cpu    = 1
    memory = "512MiB"
  }

  task {
    command = "python3"
    args    = ["split.py", "--fraction", var.fraction, "--seed", var.seed]
  }
}
