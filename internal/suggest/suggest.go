// Package suggest finds the name a person probably meant: the "did you
// mean" of a mistyped command, flag, job file attribute, dataset or model.
package suggest

import (
	"strings"

	"github.com/agext/levenshtein"
)

// Closest is the option nearest to given by edit distance, or "" when none
// is near enough to be a plausible typo (1 edit in a word of 1 or 2
// letters, 2 up to 8 letters, 3 beyond; a swap of two letters is 2
// edits). An option equal but for case wins outright ("TOY-MODEL" ->
// toy-model), and a prefix of exactly one option counts too ("stat" ->
// status). Ties go to the earlier option.
func Closest(given string, options []string) string {
	if given == "" {
		return ""
	}
	for _, o := range options {
		if o != given && strings.EqualFold(o, given) {
			return o
		}
	}
	limit := 2
	switch {
	case len(given) <= 2:
		limit = 1
	case len(given) > 8:
		limit = 3
	}
	best, bestDist := "", limit+1
	var prefixed []string
	for _, o := range options {
		if o == given {
			continue
		}
		if d := levenshtein.Distance(given, o, nil); d < bestDist {
			best, bestDist = o, d
		}
		if len(given) >= 2 && strings.HasPrefix(o, given) {
			prefixed = append(prefixed, o)
		}
	}
	if best == "" && len(prefixed) == 1 {
		return prefixed[0]
	}
	return best
}
