package jobspec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nai-project/nai/structs"
)

// logPatternLetters are the %-sequences of Slurm's --output and --error
// that nai fills in (see ExpandLogPath).
const logPatternLetters = "jJAaxuN%"

// checkLogPattern lists the %-sequences of a log path that ExpandLogPath
// leaves as they are, so the reader can warn about them.
func checkLogPattern(p string) []string {
	var unknown []string
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		if j >= len(p) {
			unknown = append(unknown, p[i:])
			break
		}
		if !strings.ContainsRune(logPatternLetters, rune(p[j])) {
			unknown = append(unknown, p[i:j+1])
		}
		i = j
	}
	return unknown
}

// ExpandLogPath fills in Slurm's patterns in a log path for job, as sbatch
// does for --output and --error:
//
//	%j, %J  the job id
//	%A      the array's id (the job id for a job that is not in an array)
//	%a      the array task id (SLURM_ARRAY_TASK_ID; 0 outside an array)
//	%x      the job name
//	%u      the user who owns the job
//	%N      the node the job ran on (its first node)
//	%%      a percent sign
//
// A number between % and the letter pads a number with zeros to that
// width (%4a: 0007). Other sequences are left as they are.
func ExpandLogPath(p string, job *structs.Job) string {
	return expandPercent(p, func(code byte, num func(string) string) (string, bool) {
		switch code {
		case 'j', 'J':
			return num(job.ID), true
		case 'A':
			id := job.ArrayID
			if id == "" {
				id = job.ID
			}
			return num(id), true
		case 'a':
			return num(job.ArrayTaskID()), true
		case 'x':
			return job.Name, true
		case 'u':
			return job.User, true
		case 'N':
			return job.NodeName, true
		case '%':
			return "%", true
		}
		return "", false
	})
}

// expandPercent walks p's %-sequences (a width, then a letter) and writes
// for each what fill gives, or the sequence as it is where fill gives
// nothing; num pads a number to the sequence's width (%4a: 0007).
func expandPercent(p string, fill func(code byte, num func(string) string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		j := i + 1
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		if j >= len(p) {
			b.WriteString(p[i:])
			break
		}
		width, _ := strconv.Atoi(p[i+1 : j])
		width = min(width, 10)
		num := func(s string) string {
			if n, err := strconv.Atoi(s); err == nil && width > 0 {
				return fmt.Sprintf("%0*d", width, n)
			}
			return s
		}
		if v, ok := fill(p[j], num); ok {
			b.WriteString(v)
		} else {
			b.WriteString(p[i : j+1])
		}
		i = j
	}
	return b.String()
}
