package structs

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ArtifactKind tells datasets from models and plugins; all are versioned
// the same way.
type ArtifactKind string

const (
	KindDataset ArtifactKind = "dataset"
	KindModel   ArtifactKind = "model"
	// KindPlugin is a cluster plugin (plugin.go): its versions are the
	// packed plugin folders, each with its header.
	KindPlugin ArtifactKind = "plugin"
)

// Valid reports whether k is a known kind.
func (k ArtifactKind) Valid() bool { return k == KindDataset || k == KindModel || k == KindPlugin }

// Artifact is a named, owned, versioned dataset or model. Each version is
// immutable: a blob (a tar+gzip archive named by its sha256) or, for a
// dataset, a path that every client already has. Version numbers are never
// reused, even after a version is removed.
type Artifact struct {
	Kind        ArtifactKind       `json:"kind"`
	Name        string             `json:"name"`
	User        string             `json:"user"`
	Group       string             `json:"group,omitempty"`
	Description string             `json:"description,omitempty"`
	Versions    []*ArtifactVersion `json:"versions"`
	// LastVersion is the highest number ever given, so a removed version's
	// number is not given again.
	LastVersion int       `json:"last_version"`
	CreateTime  time.Time `json:"create_time,omitzero"`
	ModifyTime  time.Time `json:"modify_time,omitzero"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Dataset and Model are the two kinds of artifact; they share one type so
// that pushing, listing, pulling and lineage work the same for both.
type (
	Dataset = Artifact
	Model   = Artifact
)

// ArtifactVersion is one immutable version of a dataset or model.
type ArtifactVersion struct {
	Version     int       `json:"version"`
	Digest      string    `json:"digest,omitempty"` // sha256 of the tar+gzip blob
	Size        int64     `json:"size"`             // bytes of the blob
	Files       int       `json:"files,omitempty"`
	Path        string    `json:"path,omitempty"` // data already on every client; no blob
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"create_time,omitzero"`
	CreatedBy   string    `json:"created_by,omitempty"`
	// Metrics are the final metrics of the job that made this version.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// NonFiniteMetrics are the job's metrics whose last value was NaN,
	// Infinity or -Infinity (Job.NonFiniteMetrics), which Metrics leaves
	// out: the version of a run that diverged says so.
	NonFiniteMetrics map[string]NonFiniteMetric `json:"non_finite_metrics,omitempty"`
	Lineage          *Lineage                   `json:"lineage,omitempty"`
	// Plugin is a plugin version's header (plugin.hcl).
	Plugin *PluginSpec `json:"plugin,omitempty"`
	// Serve is the command that serves a model version (`nai serve`),
	// run in the version's directory: the job's output { serve }, or
	// python3 serve.py when the version has a serve.py.
	Serve []string `json:"serve,omitempty"`
	// UsedBy lists the jobs that read this version; filled in answers,
	// not stored.
	UsedBy []string `json:"used_by,omitempty"`
}

// Lineage says how a model or dataset version was made.
type Lineage struct {
	JobID    string        `json:"job_id"`
	JobName  string        `json:"job_name,omitempty"`
	Datasets []ArtifactRef `json:"datasets,omitempty"`
	// Models are the model versions the job read; Parent is the one of
	// the same name (the version it continued from), if any.
	Models        []ArtifactRef `json:"models,omitempty"`
	ParentVersion int           `json:"parent_version,omitempty"`
	// MetricsDigest is the blob of the job's full metrics history.
	MetricsDigest string `json:"metrics_digest,omitempty"`
	// Plugin is the plugin version the job was built from, with the
	// values of its variables.
	Plugin *PluginRef `json:"plugin,omitempty"`
}

// ArtifactPushRequest adds a version (raft messages DatasetPush and
// ModelPush, and the body of PUT /v1/datasets/{name} and
// /v1/models/{name}, where the server fills Kind, Name, User and Now).
type ArtifactPushRequest struct {
	Kind        ArtifactKind `json:"kind,omitempty"`
	Name        string       `json:"name,omitempty"`
	User        string       `json:"user,omitempty"`
	Group       string       `json:"group,omitempty"`
	Description string       `json:"description,omitempty"`
	Digest      string       `json:"digest,omitempty"`
	Size        int64        `json:"size"`
	Files       int          `json:"files,omitempty"`
	Path        string       `json:"path,omitempty"`
	// Plugin is a plugin version's header (kind plugin only).
	Plugin *PluginSpec `json:"plugin,omitempty"`
	// JobID says that a job made this dataset version (a service that
	// saves its work): the servers check the caller may read the job and
	// fill Lineage from it. Lineage is the servers' to set, never the
	// caller's.
	JobID   string   `json:"job_id,omitempty"`
	Lineage *Lineage `json:"lineage,omitempty"`
	// Serve records a model version's serve command (see
	// ArtifactVersion.Serve).
	Serve []string  `json:"serve,omitempty"`
	Now   time.Time `json:"now,omitzero"`
	// DryRun asks whether the caller may push this version, writing
	// nothing: the CLI asks before it uploads a folder, so that a push
	// it may not make is refused before the transfer, not after. The
	// servers never apply such a request.
	DryRun bool `json:"dry_run,omitempty"`
}

// ArtifactPushResponse answers a push: the version that now holds the
// content, and whether it was made by this push (false: the latest version
// already had this content).
type ArtifactPushResponse struct {
	Kind    ArtifactKind `json:"kind"`
	Name    string       `json:"name"`
	Version int          `json:"version"`
	Created bool         `json:"created"`
	Index   uint64       `json:"index"`
}

// ArtifactDeleteRequest removes one version (raft message ArtifactDelete).
type ArtifactDeleteRequest struct {
	Kind    ArtifactKind `json:"kind"`
	Name    string       `json:"name"`
	Version int          `json:"version"`
	Now     time.Time    `json:"now,omitzero"`
}

var digestChars = "0123456789abcdef"

// ValidDigest reports whether s is a sha256 digest as nai writes it: 64
// lower-case hex digits.
func ValidDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(digestChars, rune(s[i])) {
			return false
		}
	}
	return true
}

// Validate checks a push request's spec.
func (r *ArtifactPushRequest) Validate() error {
	switch {
	case !r.Kind.Valid():
		return NewError(CodeInvalid, "artifact kind %q is unknown: expected dataset, model or plugin", r.Kind)
	case !ValidName(r.Name):
		return NewError(CodeInvalid, "%s name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters", r.Kind, r.Name, MaxNameLen)
	case r.Group != "" && !ValidName(r.Group):
		return NewError(CodeInvalid, "group %q is invalid: use letters, digits, '.', '_' and '-'", r.Group)
	case r.Path != "" && r.Digest != "":
		return NewError(CodeInvalid, "a %s version is either a blob (digest) or a path, not both", r.Kind)
	case r.Path != "" && r.Kind != KindDataset:
		return NewError(CodeInvalid, "only datasets may point at a path; a model version is a blob")
	case r.Path != "" && (!strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, "\x00")):
		return NewError(CodeInvalid, "path %q must be absolute (data already present on every client, such as /shared/imagenet)", r.Path)
	case r.Path == "" && !ValidDigest(r.Digest):
		return NewError(CodeInvalid, "digest %q is invalid: expected the sha256 of an uploaded blob (64 hex digits)", r.Digest)
	case r.Size < 0 || r.Files < 0:
		return NewError(CodeInvalid, "size and files must not be negative")
	case len(r.Description) > 4096:
		return NewError(CodeInvalid, "description is longer than 4096 characters")
	case r.Kind == KindPlugin && r.Plugin == nil:
		return NewError(CodeInvalid, "a plugin version needs its header (name, version, kind): install it with nai plugin install DIR")
	case r.Kind != KindPlugin && r.Plugin != nil:
		return NewError(CodeInvalid, "only a plugin version has a plugin header")
	case r.Kind == KindPlugin && r.Plugin.Name != r.Name:
		return NewError(CodeInvalid, "plugin.hcl names plugin %q, not %q", r.Plugin.Name, r.Name)
	case r.Kind == KindPlugin && r.Path != "":
		return NewError(CodeInvalid, "a plugin version is its packed folder, not a path")
	case (r.JobID != "" || r.Lineage != nil) && r.Kind != KindDataset:
		return NewError(CodeInvalid, "only a dataset version pushed by a job records that job")
	}
	if r.Plugin != nil {
		if err := r.Plugin.Validate(); err != nil {
			return NewError(CodeInvalid, "plugin header: %v", err)
		}
	}
	switch {
	case len(r.Serve) > 0 && r.Kind != KindModel:
		return NewError(CodeInvalid, "only a model version has a serve command")
	case len(r.Serve) > 64 || slices.ContainsFunc(r.Serve, func(w string) bool { return w == "" || strings.ContainsRune(w, 0) }):
		return NewError(CodeInvalid, "serve command %q is invalid: expected words such as [\"python3\", \"serve.py\"]", r.Serve)
	}
	return nil
}

// Latest returns the newest version, or nil when there is none.
func (a *Artifact) Latest() *ArtifactVersion {
	if len(a.Versions) == 0 {
		return nil
	}
	return a.Versions[len(a.Versions)-1]
}

// Version returns version n, or nil.
func (a *Artifact) Version(n int) *ArtifactVersion {
	for _, v := range a.Versions {
		if v.Version == n {
			return v
		}
	}
	return nil
}

// Resolve finds the version a reference means: a number, or "latest" (also
// the meaning of ""). It returns a coded not-found error naming what exists.
func (a *Artifact) Resolve(version string) (*ArtifactVersion, error) {
	if version == "" || version == "latest" {
		if v := a.Latest(); v != nil {
			return v, nil
		}
		return nil, NewError(CodeNotFound, "%s %q has no versions", a.Kind, a.Name)
	}
	n, err := strconv.Atoi(version)
	if err != nil || n <= 0 {
		return nil, NewError(CodeInvalid, "%s version %q is invalid: expected a number such as 3 or \"latest\"", a.Kind, version)
	}
	if v := a.Version(n); v != nil {
		return v, nil
	}
	return nil, NewError(CodeNotFound, "%s %s has no version %d (it has %s)", a.Kind, a.Name, n, a.versionList())
}

func (a *Artifact) versionList() string {
	if len(a.Versions) == 0 {
		return "none"
	}
	s := make([]string, len(a.Versions))
	for i, v := range a.Versions {
		s[i] = strconv.Itoa(v.Version)
	}
	return strings.Join(s, ", ")
}

// ParseArtifactRef reads "NAME" or "NAME:VERSION" (VERSION a number or
// "latest").
func ParseArtifactRef(s string) (name, version string, err error) {
	name, version, _ = strings.Cut(s, ":")
	if !ValidName(name) {
		return "", "", NewError(CodeInvalid, "name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	if version == "" {
		version = "latest"
	}
	if version != "latest" {
		if n, err := strconv.Atoi(version); err != nil || n <= 0 {
			return "", "", NewError(CodeInvalid, "version %q is invalid: expected a number such as 3 or \"latest\"", version)
		}
	}
	return name, version, nil
}

// Copy returns a deep copy, so a stored artifact is never changed in place.
func (a *Artifact) Copy() *Artifact {
	if a == nil {
		return nil
	}
	c := *a
	c.Versions = make([]*ArtifactVersion, len(a.Versions))
	for i, v := range a.Versions {
		c.Versions[i] = v.Copy()
	}
	return &c
}

// Copy returns a deep copy.
func (v *ArtifactVersion) Copy() *ArtifactVersion {
	if v == nil {
		return nil
	}
	c := *v
	c.Metrics = maps.Clone(v.Metrics)
	c.NonFiniteMetrics = CloneNonFinite(v.NonFiniteMetrics)
	c.UsedBy = slices.Clone(v.UsedBy)
	c.Lineage = v.Lineage.Copy()
	c.Plugin = v.Plugin.Copy()
	c.Serve = slices.Clone(v.Serve)
	return &c
}

// Copy returns a deep copy.
func (l *Lineage) Copy() *Lineage {
	if l == nil {
		return nil
	}
	c := *l
	c.Datasets = slices.Clone(l.Datasets)
	c.Models = slices.Clone(l.Models)
	c.Plugin = l.Plugin.Copy()
	return &c
}

// String is "NAME:VERSION".
func (r ArtifactRef) String() string { return fmt.Sprintf("%s:%s", r.Name, r.Version) }
