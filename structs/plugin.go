package structs

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A cluster plugin is a folder with a plugin.hcl (its name, release,
// kind, variables and a job template in the job language) and the code
// that template runs. `nai plugin install` packs the folder into a blob
// and records it as a version of an artifact of kind "plugin", with the
// plugin.hcl's header as the version's PluginSpec; `nai plugin run` builds
// a job from the template and submits it with the plugin version's content
// as the job's code, naming the plugin in Job.Plugin so the servers pin
// the version and the lineage of what the job makes names it.

// PluginKind says what running a plugin makes.
type PluginKind string

const (
	// PluginDataset turns a dataset version into a new dataset version
	// (the job's output { dataset }).
	PluginDataset PluginKind = "dataset"
	// PluginJob is any batch job.
	PluginJob PluginKind = "job"
	// PluginService runs until it is stopped (a web page, an API).
	PluginService PluginKind = "service"
)

// PluginKinds lists the kinds, for messages.
var PluginKinds = []PluginKind{PluginDataset, PluginJob, PluginService}

// Valid reports whether k is a known kind.
func (k PluginKind) Valid() bool { return slices.Contains(PluginKinds, k) }

// Limits of a plugin's header.
const (
	MaxPluginVariables  = 64
	MaxPluginReleaseLen = 64
	MaxPluginVarValue   = 4096
)

// releaseRE is a plugin's declared version: "1.0.0", "2024-05-01", "v2-rc1".
var releaseRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]*$`) })

// varNameRE is an HCL identifier, what a variable block may be called.
var varNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`) })

// ValidRelease reports whether s can be a plugin's declared version. A
// plain number cannot: "NAME:3" means the registry's version 3, and a
// release "3" would be read as that.
func ValidRelease(s string) error {
	switch {
	case s == "":
		return errors.New("a plugin needs a version, such as \"1.0.0\"")
	case len(s) > MaxPluginReleaseLen:
		return fmt.Errorf("version %q is longer than %d characters", s, MaxPluginReleaseLen)
	case !releaseRE().MatchString(s):
		return fmt.Errorf("version %q is invalid: use letters, digits, '.', '+', '_' and '-', such as \"1.0.0\"", s)
	case s == "latest":
		return errors.New(`version "latest" is reserved: it means the newest installed version`)
	}
	if _, err := strconv.Atoi(s); err == nil {
		return fmt.Errorf("version %q is a plain number, which reads as the registry's version number: use a version such as %q", s, s+".0")
	}
	return nil
}

// PluginSpec is the header of a plugin.hcl: what the registry shows and
// what `nai plugin run` checks its arguments against. The job template
// itself stays in the plugin's content.
type PluginSpec struct {
	Name string `json:"name"`
	// Version is the plugin's own version ("1.0.0"), unique among the
	// installed versions of the plugin; the registry numbers versions
	// too (1, 2, ...).
	Version     string           `json:"version"`
	Kind        PluginKind       `json:"kind"`
	Description string           `json:"description,omitempty"`
	Variables   []PluginVariable `json:"variables,omitempty"`
}

// PluginVariable is one variable of a plugin's template.
type PluginVariable struct {
	Name string `json:"name"`
	// Type is the HCL type constraint ("string", "number", "bool",
	// "list(string)"); "any" when the file gives none.
	Type string `json:"type"`
	// Default is the default value as HCL would write it; Required is
	// set when there is none and `-var NAME=VALUE` must be given.
	Default     string `json:"default,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Description string `json:"description,omitempty"`
}

// Validate checks a plugin header.
func (s *PluginSpec) Validate() error {
	var errs []error
	if !ValidName(s.Name) {
		errs = append(errs, fmt.Errorf("plugin name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters", s.Name, MaxNameLen))
	}
	if err := ValidRelease(s.Version); err != nil {
		errs = append(errs, err)
	}
	if !s.Kind.Valid() {
		errs = append(errs, fmt.Errorf("plugin kind %q is unknown: expected dataset, job or service", s.Kind))
	}
	if len(s.Description) > MaxDescriptionLen {
		errs = append(errs, fmt.Errorf("plugin description is %d bytes long: the limit is %d", len(s.Description), MaxDescriptionLen))
	}
	if len(s.Variables) > MaxPluginVariables {
		errs = append(errs, fmt.Errorf("plugin has %d variables: the limit is %d", len(s.Variables), MaxPluginVariables))
	}
	seen := map[string]bool{}
	for _, v := range s.Variables {
		switch {
		case !varNameRE().MatchString(v.Name):
			errs = append(errs, fmt.Errorf("plugin variable name %q is invalid: start with a letter; use letters, digits, '_' and '-'", v.Name))
		case seen[v.Name]:
			errs = append(errs, fmt.Errorf("plugin variable %q is declared twice", v.Name))
		case len(v.Type) > 256 || len(v.Default) > MaxPluginVarValue || len(v.Description) > 4096:
			errs = append(errs, fmt.Errorf("plugin variable %q: type, default or description is too long", v.Name))
		}
		seen[v.Name] = true
	}
	return errors.Join(errs...)
}

// Variable returns the declared variable called name, or nil.
func (s *PluginSpec) Variable(name string) *PluginVariable {
	for i := range s.Variables {
		if s.Variables[i].Name == name {
			return &s.Variables[i]
		}
	}
	return nil
}

// Copy returns a deep copy.
func (s *PluginSpec) Copy() *PluginSpec {
	if s == nil {
		return nil
	}
	c := *s
	c.Variables = slices.Clone(s.Variables)
	return &c
}

// PluginRef names the plugin version a job was built from: on a
// submission, Version is what the user asked for (a number, "latest" or
// the plugin's own version); the servers pin it to the registry's number
// and fill Release and Kind, and refuse the job unless Digest is that
// version's content and the job's code.
type PluginRef struct {
	Name    string     `json:"name"`
	Version string     `json:"version"`
	Release string     `json:"release,omitempty"`
	Kind    PluginKind `json:"kind,omitempty"`
	Digest  string     `json:"digest,omitempty"`
	// Variables are the values the template was given (defaults
	// included), as HCL would write them.
	Variables map[string]string `json:"variables,omitempty"`
}

// String is "NAME:VERSION (RELEASE)".
func (r *PluginRef) String() string {
	s := r.Name + ":" + r.Version
	if r.Release != "" {
		s += " (" + r.Release + ")"
	}
	return s
}

// Validate checks what a submitter may say.
func (r *PluginRef) Validate() error {
	var errs []error
	if !ValidName(r.Name) {
		errs = append(errs, fmt.Errorf("plugin name %q is invalid", r.Name))
	}
	if r.Version != "latest" && r.Version != "" {
		if n, err := strconv.Atoi(r.Version); err != nil || n <= 0 {
			if ValidRelease(r.Version) != nil {
				errs = append(errs, fmt.Errorf("plugin version %q is invalid: expected a number, \"latest\" or the plugin's own version such as \"1.0.0\"", r.Version))
			}
		}
	}
	if r.Digest != "" && !ValidDigest(r.Digest) {
		errs = append(errs, fmt.Errorf("plugin digest %q is invalid: expected 64 hex digits", r.Digest))
	}
	if len(r.Variables) > MaxPluginVariables {
		errs = append(errs, fmt.Errorf("plugin run has %d variables: the limit is %d", len(r.Variables), MaxPluginVariables))
	}
	for k, v := range r.Variables {
		if !varNameRE().MatchString(k) || len(v) > MaxPluginVarValue {
			errs = append(errs, fmt.Errorf("plugin variable %q is invalid or its value longer than %d bytes", k, MaxPluginVarValue))
		}
	}
	return errors.Join(errs...)
}

// Copy returns a deep copy.
func (r *PluginRef) Copy() *PluginRef {
	if r == nil {
		return nil
	}
	c := *r
	c.Variables = maps.Clone(r.Variables)
	return &c
}

// ParsePluginRef reads "NAME", "NAME:3", "NAME:latest" or "NAME:1.0.0".
func ParsePluginRef(s string) (name, version string, err error) {
	name, version, _ = strings.Cut(s, ":")
	if !ValidName(name) {
		return "", "", NewError(CodeInvalid, "plugin name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	if version == "" {
		version = "latest"
	}
	if version == "latest" {
		return name, version, nil
	}
	if n, err := strconv.Atoi(version); err == nil {
		if n <= 0 {
			return "", "", NewError(CodeInvalid, "plugin version %q is invalid: expected a number such as 3, \"latest\" or the plugin's own version such as 1.0.0", version)
		}
		return name, version, nil
	}
	if ValidRelease(version) != nil {
		return "", "", NewError(CodeInvalid, "plugin version %q is invalid: expected a number such as 3, \"latest\" or the plugin's own version such as 1.0.0", version)
	}
	return name, version, nil
}

// ResolvePlugin finds the version of a plugin that a reference means: a
// registry number, "latest" ("" too), or the plugin's own version.
func (a *Artifact) ResolvePlugin(version string) (*ArtifactVersion, error) {
	if version == "" || version == "latest" {
		return a.Resolve(version)
	}
	if _, err := strconv.Atoi(version); err == nil {
		return a.Resolve(version)
	}
	for _, v := range a.Versions {
		if v.Plugin != nil && v.Plugin.Version == version {
			return v, nil
		}
	}
	return nil, NewError(CodeNotFound, "plugin %s has no version %s (it has %s)", a.Name, version, a.releaseList())
}

// ReleaseOf returns the installed version whose declared version is
// release, or nil.
func (a *Artifact) ReleaseOf(release string) *ArtifactVersion {
	for _, v := range a.Versions {
		if v.Plugin != nil && v.Plugin.Version == release {
			return v
		}
	}
	return nil
}

func (a *Artifact) releaseList() string {
	if len(a.Versions) == 0 {
		return "none"
	}
	s := make([]string, len(a.Versions))
	for i, v := range a.Versions {
		s[i] = strconv.Itoa(v.Version)
		if v.Plugin != nil {
			s[i] += " (" + v.Plugin.Version + ")"
		}
	}
	return strings.Join(s, ", ")
}

// LineageOf is the lineage of a version of dataset name that job j makes
// (its outputs, or a version it pushes itself): the job, the dataset and
// model versions it reads as pinned at submit time, the version of name it
// reads (the parent), and the plugin it was built from.
func (j *Job) LineageOf(name string) *Lineage {
	lin := &Lineage{
		JobID: j.ID, JobName: j.Name,
		Datasets: slices.Clone(j.Datasets),
		Models:   slices.Clone(j.Models),
		Plugin:   j.Plugin.Copy(),
	}
	for _, d := range j.Datasets {
		if d.Name == name {
			lin.ParentVersion, _ = strconv.Atoi(d.Version)
		}
	}
	return lin
}
