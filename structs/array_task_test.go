package structs

import "testing"

// A member is named A_N by its Slurm task id where it has one, else by its
// index in its sweep; its queue row keeps that number.
func TestArrayTask(t *testing.T) {
	for _, tc := range []struct {
		name   string
		index  int
		values map[string]string
		want   int
		ref    string
	}{
		{"a sweep block's member: its index", 2, map[string]string{"lr": "0.1"}, 2, "20_2"},
		{"an --array member: its task id", 2, map[string]string{ArrayTaskIDKey: "5"}, 5, "20_5"},
		{"task id 0", 3, map[string]string{ArrayTaskIDKey: "0"}, 0, "20_0"},
		{"a task id that is not a number: the index", 1, map[string]string{ArrayTaskIDKey: "x"}, 1, "20_1"},
		{"a task id not written plainly: the index", 1, map[string]string{ArrayTaskIDKey: "07"}, 1, "20_1"},
		{"a negative task id: the index", 1, map[string]string{ArrayTaskIDKey: "-3"}, 1, "20_1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := &Job{ID: "22", ArrayID: "20", ArrayIndex: tc.index, SweepValues: tc.values}
			if got := j.ArrayTask(); got != tc.want {
				t.Errorf("ArrayTask() = %d, want %d", got, tc.want)
			}
			if got := j.ArrayRef(); got != tc.ref {
				t.Errorf("ArrayRef() = %q, want %q", got, tc.ref)
			}
			row := j.Row()
			if got := row.Job().ArrayTask(); got != tc.want {
				t.Errorf("the row's job has ArrayTask() %d, want %d", got, tc.want)
			}
		})
	}
	if got := (&Job{ID: "7"}).ArrayRef(); got != "7" {
		t.Errorf("a job outside an array: ArrayRef() = %q, want its id 7", got)
	}
	if row := (&Job{ID: "7", SweepValues: map[string]string{"lr": "1"}}).Row(); row.ArrayTaskID != "" || row.Job().SweepValues != nil {
		t.Errorf("a row of a job without a task id carries one: %+v", row)
	}
}
