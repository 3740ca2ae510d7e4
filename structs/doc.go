// Package structs holds nai's domain types: jobs, allocations, nodes, GPUs,
// plans and the requests that travel through raft and the HTTP API.
//
// There is one type per concept. The HTTP API, the CLI, the state store and
// the scheduler all use these types directly; there is no API copy converted
// by hand. JSON keys are snake_case, times are RFC 3339, durations are Go
// duration strings ("90s") and sizes are bytes.
//
// Validation lives beside each type (Job.Validate, Resources.Validate), so
// the CLI and the server run the same checks.
//
// structs imports nothing else of the project.
package structs
