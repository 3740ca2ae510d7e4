// Package docs is nai's documentation for operators and users (Markdown).
// Its only code is a test: api.md, the HTTP API reference, is generated
// from the route tables of the server and of the client agent, and the
// test fails when it is stale (refresh it with
// `go test ./docs -run TestAPIReference -update`).
package docs
