locals {
  tags = ["a", "b"]
}

job "functions" {
  queue       = lower("GPU-Queue")
  description = format("%s has %d tags: %s", upper("run"), length(local.tags), join(",", local.tags))
  labels = merge({ a = "1" }, { b = title("two") })
  resources {
    cpu = max(1, 2.5)
  }
  task {
    command = "python3"
    args    = concat(["train.py"], [for t in local.tags : "--tag=${t}"], formatlist("--x=%d", range(2)))
    env = {
      PATH_PART = replace(trimspace("  a/b/c  "), "/", ":")
    }
  }
}
