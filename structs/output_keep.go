package structs

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// ValidKeepGlob checks one glob of output { keep }: a path.Match pattern,
// relative to NAI_OUTPUT_DIR (a leading "/" could never match).
func ValidKeepGlob(g string) error {
	if g == "" || strings.HasPrefix(g, "/") || strings.ContainsRune(g, 0) || slices.Contains(strings.Split(g, "/"), "..") {
		return fmt.Errorf("output keep pattern %q is invalid: expected a glob relative to NAI_OUTPUT_DIR, such as \"*.pt\" or \"checkpoints/*.pt\"", g)
	}
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Errorf("output keep pattern %q is not a glob (%v): expected something like \"*.pt\" or \"checkpoints/*.pt\"", g, err)
	}
	return nil
}

// KeepMatch reports whether output { keep } keeps the output rel, a
// slash-separated path below NAI_OUTPUT_DIR. No globs keep everything.
// The rules are a small part of .gitignore's, with path.Match globs:
//
//   - a glob without "/" is matched against each name along rel: "*.pt"
//     keeps model.pt and ckpt/last.pt, and "ckpt" keeps everything in a
//     folder named ckpt, at any depth;
//   - a glob with "/" is matched against rel from the top, and against
//     each folder above it: "ckpt/*.pt" keeps ckpt/last.pt but not
//     ckpt/old/last.pt or last.pt, and "runs/best" keeps runs/best/...;
//   - a trailing "/" is dropped: "ckpt/" is "ckpt".
//
// "*" does not cross a "/", as in path.Match; a bad glob matches nothing
// (ValidKeepGlob refuses it before a job is accepted).
func (o *OutputSpec) KeepMatch(rel string) bool {
	if o == nil || len(o.Keep) == 0 {
		return true
	}
	for _, g := range o.Keep {
		if keepGlobMatch(g, rel) {
			return true
		}
	}
	return false
}

func keepGlobMatch(g, rel string) bool {
	// "ckpt/" names a folder, as "ckpt" does.
	g = strings.TrimSuffix(g, "/")
	if !strings.Contains(g, "/") {
		for name := range strings.SplitSeq(rel, "/") {
			if ok, _ := path.Match(g, name); ok {
				return true
			}
		}
		return false
	}
	// rel itself, then each folder above it: a/b/c, a/b, a.
	for p := rel; p != ""; {
		if ok, _ := path.Match(g, p); ok {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return false
}
