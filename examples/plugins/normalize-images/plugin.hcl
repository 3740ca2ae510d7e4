# A dataset plugin: every PNG, PGM or PPM image of the input dataset is
# resized to size x size pixels (bilinear) and its intensities stretched to
# the full 0..255 range per channel, and written as PNG under the same path
# (with a .png suffix) in the next version of the dataset. Other files are
# copied unchanged. Python's standard library only.
plugin "normalize-images" {
  version     = "1.0.0"
  kind        = "dataset"
  description = "Resize the images of a dataset to one size and stretch their intensities to 0..255"
}

variable "size" {
  type        = number
  default     = 64
  description = "width and height of every output image, in pixels (1 to 4096)"
}

variable "grayscale" {
  type        = bool
  default     = false
  description = "convert colour images to grayscale"
}

job "normalize-images" {
  time_limit = "2h"

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    command = "python3"
    args    = ["normalize.py", "--size", var.size, "--grayscale", var.grayscale]
  }
}
