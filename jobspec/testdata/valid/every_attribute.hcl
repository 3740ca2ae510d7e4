job "everything" {
  queue       = "research"
  priority    = 80
  time_limit  = "2h30m"
  begin_after = "2026-03-01T09:00:00+01:00"
  preemptible = true
  group       = "vision"
  description = "All the attributes a job file can set."
  labels = {
    team    = "vision"
    project = "resnet"
  }

  code       = "./src"
  depends_on = ["afterok:12", "7", "afterany:9", "afternotok:3_1"]

  dataset "imagenet" {
    version = 3
  }
  dataset "coco" {}
  model "resnet50" {
    version = "latest"
  }

  resources {
    cpu    = 16
    memory = "128GiB"
    disk   = "500GB"
    nodes  = 2
    gpu {
      count  = 8
      model  = "H100"
      memory = "80GiB"
    }
  }

  task {
    command = "torchrun"
    args    = ["--nproc-per-node", 8, "train.py"]
    env = {
      NCCL_DEBUG = "INFO"
      EPOCHS     = 90
    }
    workdir = "src"
    user    = "trainer"
  }

  retry {
    attempts = 3
    on       = ["node-lost", "preempted"]
  }

  output {
    model = "resnet50"
    keep  = ["*.pt", "logs/*"]
  }
}
