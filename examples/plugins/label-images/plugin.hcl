# A service plugin: a small web page that shows the images of a dataset
# version one by one and records a label for each (buttons or the number
# keys). Save packs the version's files with a labels.json and pushes them
# as the next version of the dataset (or of output_dataset), recorded as
# made by this job, so its lineage names the labelled version and this
# plugin.
#
# It runs as a service job: the gateway of every server answers it at
# /v1/services/label-images/ (reader rights on the job's group needed, as
# for any service), and it runs until `nai service stop label-images`.
plugin "label-images" {
  version     = "1.0.0"
  kind        = "service"
  description = "Label a dataset version's images one by one in the browser; saving pushes the labels as a new dataset version"
}

variable "labels" {
  type        = list(string)
  default     = ["cat", "dog"]
  description = "the labels to choose from"
}

variable "output_dataset" {
  type        = string
  default     = ""
  description = "dataset the labelled version goes to (default: the dataset that was labelled)"
}

variable "port" {
  type        = number
  default     = 8080
  description = "port to listen on when the cluster gives none (NAI_PORT, which a service replica always has)"
}

variable "token_file" {
  type        = string
  default     = ""
  description = "file holding a token for the nai API on a cluster with ACLs (default: ~/.nai/token of the job's user)"
}

job "label-images" {
  type = "service"

  resources {
    cpu    = 0.5
    memory = "256MiB"
  }

  task {
    command = "python3"
    args = ["label.py", "--labels", jsonencode(var.labels), "--output-dataset", var.output_dataset,
    "--port", var.port, "--token-file", var.token_file]
  }

  service {
    replicas = 1
    health {
      path = "/health"
    }
  }
}
