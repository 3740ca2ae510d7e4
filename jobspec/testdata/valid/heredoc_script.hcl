job "scripted" {
  task {
    script = <<-EOT
      set -o pipefail
      echo "starting on $NAI_NODE_NAME"
      python3 train.py --epochs 3 | tee "$NAI_OUTPUT_DIR/log.txt"
    EOT
    env = {
      PYTHONUNBUFFERED = "1"
    }
  }
}
