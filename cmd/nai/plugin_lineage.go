package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nai-project/nai/structs"
)

// formatDatasetLineage is the part of `nai dataset show` that says how each
// version made by a job was made: the job, the versions it read, the
// plugin it was built from and the values of the plugin's variables.
func formatDatasetLineage(w io.Writer, a *structs.Artifact) error {
	var made []*structs.ArtifactVersion
	for _, v := range a.Versions {
		if v.Lineage != nil {
			made = append(made, v)
		}
	}
	if len(made) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nLineage")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tJOB\tFROM\tPLUGIN\tVARIABLES")
	for _, v := range made {
		l := v.Lineage
		from := "-"
		if len(l.Datasets) > 0 || len(l.Models) > 0 {
			var refs []string
			for _, d := range l.Datasets {
				refs = append(refs, "dataset "+d.String())
			}
			for _, m := range l.Models {
				refs = append(refs, "model "+m.String())
			}
			from = strings.Join(refs, ", ")
		}
		plugin, vars := "-", "-"
		if p := l.Plugin; p != nil {
			plugin = p.Name + ":" + p.Version
			if p.Release != "" {
				plugin += " (" + p.Release + ")"
			}
			if len(p.Variables) > 0 {
				var kv []string
				for _, k := range slices.Sorted(maps.Keys(p.Variables)) {
					kv = append(kv, k+"="+p.Variables[k])
				}
				vars = strings.Join(kv, " ")
			}
		}
		job := l.JobID
		if l.JobName != "" {
			job += " (" + l.JobName + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strconv.Itoa(v.Version), job, from, plugin, vars)
	}
	return tw.Flush()
}

// pluginLines add to `nai job status` the plugin a job was built from and
// the version its outputs became.
func pluginLines(k *kv, j *structs.Job) {
	if p := j.Plugin; p != nil {
		s := p.Name + ":" + p.Version
		if p.Release != "" {
			s += " (" + p.Release + ")"
		}
		k.add("Plugin", s)
	}
	if j.OutputVersion > 0 && j.Output != nil {
		switch {
		case j.Output.Dataset != "":
			k.add("Output version", fmt.Sprintf("dataset %s:%d", j.Output.Dataset, j.OutputVersion))
		case j.Output.Model != "":
			k.add("Output version", fmt.Sprintf("model %s:%d", j.Output.Model, j.OutputVersion))
		}
	}
}
