# Flags in bad_var_values.flags give a bad -var, an undeclared -var and a
# var file with an undeclared name and a wrong type.
variable "epochs" {
  type = number
}

variable "lrs" {
  type    = list(number)
  default = [0.1]
}

job "bad-vars" {
  task {
    command = "true"
  }
}
