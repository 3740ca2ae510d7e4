// Package builders makes the jobs and nodes that tests need, so a test
// says only what matters to it:
//
//	builders.Job("train").GPUs(8).TimeLimit(4 * time.Hour).Build()
//	builders.Node("n1").GPUs(8).NVSwitch().Build()
//
// A job starts as alice's, in the default queue at the default priority,
// on one node with 1 CPU, 1 GiB and 1 GPU, running python3 train.py. A
// node starts ready and eligible with 64 CPUs, 512 GiB and 8 healthy
// "NVIDIA H100 80GB HBM3" GPUs of 80 GiB (UUIDs GPU-<id>-<index>).
// Build returns a new object every call, so one builder can make many.
//
// Only tests import it (internal/archtest checks); it imports structs only.
package builders
