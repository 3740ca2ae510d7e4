package jobspec

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/nai-project/nai/internal/hclout"
	"github.com/nai-project/nai/structs"
)

// ConvertScript reads a batch script and returns the job file that submits
// the same jobs (`nai job convert`), with the warnings of the script. An
// --array becomes a sweep over SLURM_ARRAY_TASK_ID; code = "." uploads
// the folder the job file is in, as a script uploads its own folder, so
// the file belongs beside the script.
func ConvertScript(filename string, src []byte, opts Options) ([]byte, []Warning, error) {
	sr, err := parseScript(filename, src, opts)
	if err != nil {
		return nil, nil, err
	}
	return formatScript(filename, sr), sr.res.Warnings, nil
}

// ConvertScriptFile reads a batch script ("-": standard input) and
// converts it with ConvertScript. A file that is not a batch script (see
// IsScript) is refused: it is already a job file.
func ConvertScriptFile(path string, opts Options) ([]byte, []Warning, error) {
	name, src, err := readSource(path, "batch script")
	if err != nil {
		return nil, nil, err
	}
	if !IsScript(name, src) {
		return nil, nil, fmt.Errorf("%s is not a batch script (no #! line, no #SBATCH lines before its first command, no .sh or .sbatch name): a job file needs no converting", name)
	}
	return ConvertScript(name, src, opts)
}

func formatScript(filename string, sr *scriptResult) []byte {
	res := sr.res
	job := res.Jobs[0].Copy()
	var ids []int
	if res.Sweep {
		for _, m := range res.Jobs {
			n, _ := strconv.Atoi(m.SweepValues[structs.ArrayTaskIDKey])
			ids = append(ids, n)
		}
		job.ArrayIndex, job.ArraySize, job.MaxParallel, job.SweepValues = 0, 0, 0, nil
		// The sweep sets these again.
		delete(job.Task.Env, "NAI_SWEEP_"+structs.ArrayTaskIDKey)
		delete(job.Task.Env, arrayTaskMinKey)
		delete(job.Task.Env, arrayTaskMaxKey)
		delete(job.Task.Env, arrayTaskStepKey)
		if len(job.Task.Env) == 0 {
			job.Task.Env = nil
		}
	}
	x := fileExtras{code: "."}
	if sr.relBegin {
		x.beginAfter = shortDuration(sr.beginAfter)
	}
	f, jb := jobFile(job, x)
	if res.Sweep {
		jb.Blank()
		sb := jb.Block("sweep")
		if p := res.Jobs[0].MaxParallel; p > 0 {
			sb.Set("max_parallel", hclout.Int(int64(p)))
		}
		sb.Set("values", hclout.Object(hclout.Attr{Name: structs.ArrayTaskIDKey, Value: idsExpr(ids)}))
	}
	header := fmt.Sprintf("# Converted from %s by nai job convert: the job file that submits the same\n# job. code = \".\" uploads the folder this file is in, as the script's own\n# folder is uploaded with it, so keep the two side by side.\n\n", oneLine(filepath.Base(filename)))
	return append([]byte(header), f.Bytes()...)
}

// idsExpr writes array task ids as range(START, END+1, STEP) when they
// are one evenly spaced run of more than three (and no more than HCL's
// range makes, 1024), else as a list.
func idsExpr(ids []int) hclout.Expr {
	num := func(n int) hclout.Expr { return hclout.Int(int64(n)) }
	if len(ids) > 3 && len(ids) <= 1024 {
		step := ids[1] - ids[0]
		even := step > 0
		for i := 2; i < len(ids) && even; i++ {
			even = ids[i]-ids[i-1] == step
		}
		if even {
			args := []hclout.Expr{num(ids[0]), num(ids[len(ids)-1] + 1)}
			if step != 1 {
				args = append(args, num(step))
			}
			return hclout.Call("range", args...)
		}
	}
	elems := make([]hclout.Expr, len(ids))
	for i, id := range ids {
		elems[i] = num(id)
	}
	return hclout.Tuple(elems...)
}
