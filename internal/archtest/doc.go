// Package archtest holds the test that keeps nai's imports flowing the way
// docs/architecture.md and DESIGN.md draw them: structs imports nothing of
// the project; scheduler and fsm never import server or client; nothing
// imports cmd; server does not import api or client; acl, api and jobspec
// know only structs. Every package of the module has a row in its table of
// allowed imports, so a new package (or a new arrow between two old ones)
// is a decision made in review, not an accident. It has no code of its
// own, and nothing imports it.
package archtest
