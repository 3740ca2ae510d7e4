// Package hclstruct decodes an HCL body into a Go struct by its hcl field
// tags, as gohcl.DecodeBody does, for the tags nai's queue and agent
// configuration files use: "name" and "name,optional" attributes,
// "name,block" blocks (T, *T, []T or []*T), "name,label" labels and
// ",def_range". Attributes are converted with gocty, and fields of type
// hcl.Expression get the expression itself; the diagnostics are gohcl's.
//
// It exists because gohcl's encoder imports hclwrite and, through it,
// github.com/google/go-cmp, whose package initialisers cost every run of
// the CLI binary (and so every job's executor) most of a millisecond.
package hclstruct
