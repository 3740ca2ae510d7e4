# A second file overrides only what it names.
node_name = "gpu-08"
ports {
  http = 5646
}
server {
  node_down_grace = "1s"
}
