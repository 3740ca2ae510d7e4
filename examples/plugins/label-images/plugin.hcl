# A service plugin: a small web page that shows the images of a dataset
# version one by one and records a label for each (buttons or the number
# keys). Save packs the version's files with a labels.json and pushes them
# as the next version of the dataset (or of output_dataset), recorded as
# made by this job, so its lineage names the labelled version and this
# plugin.
#
# Until service jobs exist on this cluster the session is a batch job: it
# listens on the node at port (printed in its log) and ends after a save.
# With service jobs, add type = "service" and a service block to the job
# and set exit_after_save = false: it is then reached through the gateway
# at /v1/services/label-images/.
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
  description = "port to listen on when the cluster gives none (NAI_PORT)"
}

variable "token_file" {
  type        = string
  default     = ""
  description = "file holding a token for the nai API on a cluster with ACLs (default: ~/.nai/token of the job's user)"
}

variable "exit_after_save" {
  type        = bool
  default     = true
  description = "end the session once a save has pushed a version"
}

job "label-images" {
  resources {
    cpu    = 0.5
    memory = "256MiB"
  }

  task {
    command = "python3"
    args = ["label.py", "--labels", jsonencode(var.labels), "--output-dataset", var.output_dataset,
    "--port", var.port, "--exit-after-save", var.exit_after_save, "--token-file", var.token_file]
  }
}
