node_name = "x"
ports {
  http = 
}
