package jobspec_test

import (
	"fmt"
	"os"

	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
)

func ExampleParse() {
	src := []byte(`
variable "epochs" {
  type    = number
  default = 5
}

job "digits-mlp" {
  time_limit = "30m"

  sweep {
    values = { lr = [0.1, 0.01] }
  }

  resources {
    cpu    = 0.5
    memory = "4GiB"
    gpu {
      count = 1
    }
  }

  task {
    command = "python3"
    args    = ["train.py", "--epochs", var.epochs, "--lr", sweep.lr]
  }
}
`)
	res, err := jobspec.Parse("train.hcl", src, jobspec.Options{Vars: map[string]string{"epochs": "3"}})
	if err != nil {
		if de, ok := err.(*jobspec.DiagError); ok {
			de.Format(os.Stderr, 80, false)
		}
		return
	}
	for _, j := range res.Jobs {
		fmt.Println(j.Name, j.ArrayIndex, j.Task.Args, j.Task.Env["NAI_SWEEP_LR"],
			j.Resources.CPU, structs.FormatSize(j.Resources.MemoryBytes), j.TimeLimit)
	}

	_, err = jobspec.Parse("bad.hcl", []byte(`job "x" { priority = 101 }`), jobspec.Options{})
	fmt.Println(err)
	// Output:
	// digits-mlp 0 [train.py --epochs 3 --lr 0.1] 0.1 0.5 4GiB 30m0s
	// digits-mlp 1 [train.py --epochs 3 --lr 0.01] 0.01 0.5 4GiB 30m0s
	// bad.hcl:1:1: Missing task block; Job "x" says nothing to run: add task { command = "python3" args = ["train.py"] } or task { script = <<-EOT ... EOT }.
	// bad.hcl:1:22: Invalid priority; priority must be a whole number from 0 to 100; got 101.
}
