package server

import (
	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/structs"
)

// A job, dataset, model or plugin that a caller may not even see is, to
// that caller, one that does not exist: every refusal about it reads as
// the not-found answer for a name that nobody uses, in the same words
// (acl.HidesJob, acl.HidesArtifact). A caller that may see it but lacks
// a stronger right gets the ACL's 403, which names that right.

// jobNotFound is the answer about a job id that names no job the caller
// may see.
func jobNotFound(id string) error {
	return structs.NewError(structs.CodeNotFound, "job %s not found", id)
}

// checkJob is the ACL's check of right on j, for a request that named
// it as asked (a job id, or the id of the array j belongs to).
func checkJob(r *request, j *structs.Job, right acl.Right, asked string) error {
	err := r.acl.CheckJob(j.ID, j.User, j.Group, right)
	if err != nil && r.acl.HidesJob(j.User, j.Group) {
		return jobNotFound(asked)
	}
	return err
}

// checkArtifact is the ACL's check of right on a, named name; a refusal
// of a caller that may not see a is missingArtifact's answer with format.
func checkArtifact(r *request, kind structs.ArtifactKind, name string, a *structs.Artifact, right acl.Right, format string) error {
	err := r.acl.CheckArtifact(kind, name, a.User, a.Group, right)
	if err != nil && r.acl.HidesArtifact(kind, a.User, a.Group) {
		return missingArtifact(r, kind, name, format)
	}
	return err
}
