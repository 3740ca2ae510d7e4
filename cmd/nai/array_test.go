package main

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestFormatArrayStatus(t *testing.T) {
	member := func(i int, status structs.JobStatus, opts ...func(*structs.Job)) *structs.Job {
		j := testJob(strconv.Itoa(20+i), "lr-sweep", status, opts...)
		j.ArrayID, j.ArrayIndex, j.MaxParallel = "20", i, 2
		j.SweepValues = map[string]string{"lr": []string{"0.1", "0.01", "0.001"}[i%3], "batch": []string{"32", "64"}[i/3]}
		return j
	}
	members := []*structs.Job{
		member(0, structs.JobComplete, ended(9*time.Minute, 5*time.Minute, intp(0), structs.ExitExited)),
		member(1, structs.JobFailed, ended(8*time.Minute, 4*time.Minute, intp(3), structs.ExitExited)),
		member(2, structs.JobRunning, running("gpu-01", 4*time.Minute, 0, 1)),
		member(3, structs.JobRunning, running("gpu-02", 3*time.Minute, 2, 3)),
		member(4, structs.JobPending, func(j *structs.Job) { j.Reason = "ArrayLimit: 2 of the sweep run (max_parallel 2)" }),
		member(5, structs.JobPending, func(j *structs.Job) { j.Reason = "ArrayLimit: 2 of the sweep run (max_parallel 2)" }),
	}
	var b bytes.Buffer
	if err := formatArrayStatus(&b, members, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "array_status", b.Bytes())
	if err := formatArrayStatus(&b, nil, now); err == nil {
		t.Error("an empty array formatted without an error")
	}
}
