// Package jobspec parses nai job files (HCL, or the API's JSON job object)
// into structs.Job, with diagnostics that name file, line and column.
//
// It knows nothing of servers: it reads the file (and any -var-file), checks
// everything that can be checked without the cluster, and returns jobs that
// have passed structs' Canonicalize and Validate. The caller uploads the
// code folder (Result.CodePath) and fills in Job.Code and the owner; the
// owner is never taken from the file. jobspec imports structs only, never
// api, server or client.
//
// # The language
//
// A file holds exactly one job block, plus any variable and locals blocks:
//
//	variable "epochs" {
//	  type        = number        # any HCL type; none means string from -var
//	  default     = 5             # a constant; without one the variable is required
//	  description = "passes over the data"
//	}
//
//	locals {
//	  run = "mlp-${var.epochs}"   # may use var.* and other locals; cycles are refused
//	}
//
//	job "digits-mlp" {            # name: letters, digits, '.', '_', '-'
//	  queue       = "default"
//	  priority    = 50            # 0-100 (0 or unset means the default, 50)
//	  time_limit  = "2h30m"       # Go duration string; at most 366 days
//	  begin_after = "2h"          # a duration from submission, or RFC 3339 "2026-03-01T09:00:00Z"
//	  preemptible = true
//	  group       = "vision"      # owning group
//	  description = local.run
//	  labels      = { team = "vision" }
//	  code        = "./src"       # local folder, relative to this file; uploaded at submit
//	  depends_on  = ["afterok:12", "afterany:13", "afternotok:14", "15"]  # bare id = afterok
//
//	  dataset "digits" { version = "latest" }   # 0..n; version "latest" or a number
//	  model "base-mlp" { version = 3 }          # 0..n
//
//	  resources {
//	    cpu    = 0.5              # cores, fractions allowed (default 1)
//	    memory = "4GiB"           # sizes need a unit: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB (default 1GiB)
//	    disk   = "20GB"
//	    nodes  = 1                # > 1: a multi-node job, each node gets these resources
//	    gpu {
//	      count  = 1
//	      model  = "H100"         # case-insensitive substring of the product name
//	      memory = "40GiB"        # minimum per GPU
//	    }
//	  }
//
//	  task {                      # exactly one of command (with args) or script
//	    command = "python3"
//	    args    = ["train.py", "--epochs", var.epochs]   # numbers become strings
//	    env     = { SEED = "1" }
//	    workdir = "src"
//	    user    = "trainer"
//	    # script = <<-EOT
//	    #   python3 train.py      (run by /bin/bash -e)
//	    # EOT
//	  }
//
//	  retry {
//	    attempts = 3              # 0-100
//	    on       = ["node-lost", "preempted", "failed"]   # "preempted" covers node drains too
//	  }
//
//	  output {
//	    model = "digits-mlp"      # register NAI_OUTPUT_DIR as the next version of this model
//	    keep  = ["*.pt"]          # globs; default everything
//	  }
//
//	  sweep {                     # one submission becomes an array of jobs
//	    mode         = "grid"     # every combination (default), or "zip": i-th values together
//	    max_parallel = 2          # at most this many members run at once (0: no limit)
//	    values = {
//	      lr    = [0.1, 0.01, 0.001]
//	      batch = [32, 64]
//	    }
//	  }
//	}
//
// A sweep evaluates the job body once per member with sweep.NAME bound to
// that member's value (so "--lr=${sweep.lr}" works anywhere in the job
// block), and adds NAI_SWEEP_<NAME> to the task's environment. Grid members
// come in the order the lists are written, the last list changing fastest.
// sweep.* is not available in locals, variables, code or the sweep block.
//
// Expressions may call HCL's standard functions (upper, lower, format,
// formatlist, concat, join, split, replace, merge, range, min, max, ...; see
// functions in eval.go). Nothing reads files, the environment or the clock.
//
// Variables are set, in increasing precedence, by their default, by
// -var-file files (HCL attribute files, in order) and by -var name=value.
// A -var value is a plain string for string (or untyped) variables and an
// HCL value such as 3, true or ["a", "b"] otherwise.
//
// # Limits
//
// A file or var file over 1 MiB, a sweep of more than 10,000 members and
// local values that refer to each other in a cycle are refused. Unknown
// attributes and blocks are errors, with a "did you mean" suggestion.
//
// # JSON
//
// Input whose first non-space byte is '{' is the API's job object
// (structs.Job, snake_case keys). Unknown keys are errors; state fields (id,
// user, status, ...) are dropped, so `nai job inspect -json` output can be
// submitted again.
//
// # Writing
//
// FormatHCL writes a job back as a job file (`nai job inspect -hcl`) that
// parses to the same spec; what a file cannot hold (id, owner, sweep
// membership, code digest) goes into comments at its top.
package jobspec
