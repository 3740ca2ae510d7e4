// Package ui is nai's web UI: static files (HTML, CSS and plain ES
// modules) embedded in the binary and served by every server at /ui/.
//
// The pages speak only the public HTTP API (/v1/...), with the token the
// user logs in with kept in the browser's sessionStorage and sent as
// "Authorization: Bearer"; the API decides what the token may see. Live
// views use the API's blocking queries (?index=&wait=) and streamed logs,
// never a timer that polls.
//
// Nothing here is built at `make build` or `make test` time: the modules
// run as written. The one third-party file, uPlot (static/vendor/uplot,
// MIT, its licence beside it), is copied from its npm package by
// scripts/vendor-ui.sh.
//
// This package imports nothing of the project.
package ui
