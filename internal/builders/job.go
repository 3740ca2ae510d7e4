package builders

import (
	"time"

	"github.com/nai-project/nai/structs"
)

// JobBuilder builds a *structs.Job.
type JobBuilder struct{ j *structs.Job }

// Job starts a job named name (see the package doc for its defaults).
func Job(name string) *JobBuilder {
	return &JobBuilder{j: &structs.Job{
		Name:      name,
		User:      "alice",
		Queue:     structs.DefaultQueueName,
		Priority:  structs.DefaultPriority,
		Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30, Nodes: 1, GPU: structs.GPURequest{Count: 1}},
		Task:      structs.Task{Command: "python3", Args: []string{"train.py"}},
	}}
}

// Build returns a new job as built so far.
func (b *JobBuilder) Build() *structs.Job { return b.j.Copy() }

func (b *JobBuilder) ID(id string) *JobBuilder          { b.j.ID = id; return b }
func (b *JobBuilder) Name(n string) *JobBuilder         { b.j.Name = n; return b }
func (b *JobBuilder) User(u string) *JobBuilder         { b.j.User = u; return b }
func (b *JobBuilder) Group(g string) *JobBuilder        { b.j.Group = g; return b }
func (b *JobBuilder) Queue(q string) *JobBuilder        { b.j.Queue = q; return b }
func (b *JobBuilder) Priority(p int) *JobBuilder        { b.j.Priority = p; return b }
func (b *JobBuilder) GPUs(n int) *JobBuilder            { b.j.Resources.GPU.Count = n; return b }
func (b *JobBuilder) Nodes(n int) *JobBuilder           { b.j.Resources.Nodes = n; return b }
func (b *JobBuilder) CPU(c float64) *JobBuilder         { b.j.Resources.CPU = c; return b }
func (b *JobBuilder) Memory(m int64) *JobBuilder        { b.j.Resources.MemoryBytes = m; return b }
func (b *JobBuilder) Model(m string) *JobBuilder        { b.j.Resources.GPU.Model = m; return b }
func (b *JobBuilder) GPUMemory(m int64) *JobBuilder     { b.j.Resources.GPU.MemoryBytes = m; return b }
func (b *JobBuilder) Exclusive() *JobBuilder            { b.j.Resources.Exclusive = true; return b }
func (b *JobBuilder) Preemptible() *JobBuilder          { b.j.Preemptible = true; return b }
func (b *JobBuilder) Singleton() *JobBuilder            { b.j.Singleton = true; return b }
func (b *JobBuilder) Submitted(t time.Time) *JobBuilder { b.j.SubmitTime = t; return b }
func (b *JobBuilder) BeginAt(t time.Time) *JobBuilder   { b.j.BeginTime = t; return b }

// TimeLimit sets the wall-clock limit.
func (b *JobBuilder) TimeLimit(d time.Duration) *JobBuilder {
	b.j.TimeLimit = structs.Duration(d)
	return b
}

// Command sets the task's command line.
func (b *JobBuilder) Command(cmd string, args ...string) *JobBuilder {
	b.j.Task.Command, b.j.Task.Args = cmd, args
	return b
}

// Array makes the job a member of array id, at most max running at once.
func (b *JobBuilder) Array(id string, max int) *JobBuilder {
	b.j.ArrayID, b.j.MaxParallel = id, max
	return b
}

// After adds a dependency of type typ on job id.
func (b *JobBuilder) After(typ structs.DependencyType, id string) *JobBuilder {
	b.j.DependsOn = append(b.j.DependsOn, structs.Dependency{Type: typ, JobID: id})
	return b
}

// AfterMember adds a dependency of type typ on job id as one member of its
// array (Dependency.Member), not on the whole array.
func (b *JobBuilder) AfterMember(typ structs.DependencyType, id string) *JobBuilder {
	b.j.DependsOn = append(b.j.DependsOn, structs.Dependency{Type: typ, JobID: id, Member: true})
	return b
}

// DependsOn adds an afterok dependency on job id.
func (b *JobBuilder) DependsOn(id string) *JobBuilder { return b.After(structs.AfterOK, id) }

// Sweep makes the job one point of a sweep, with k = v.
func (b *JobBuilder) Sweep(k, v string) *JobBuilder {
	b.j.SweepValues = map[string]string{k: v}
	return b
}

// Retry lets the job run attempts more times after the given outcomes.
func (b *JobBuilder) Retry(attempts int, on ...string) *JobBuilder {
	b.j.Retry = &structs.RetryPolicy{Attempts: attempts, On: on}
	return b
}

// With changes whatever the other methods do not reach.
func (b *JobBuilder) With(f func(*structs.Job)) *JobBuilder { f(b.j); return b }
