// Package hclout writes the HCL that nai emits: job files (`nai job
// inspect -hcl`, `nai job convert`) and plugin values. A Body holds
// attributes and labelled blocks in the order they were added; Bytes
// lays them out as hclwrite.Format does (two-space indent, "=" aligned
// across neighbouring one-line attributes), byte for byte.
//
// It replaces hashicorp/hcl's hclwrite, which covers all of HCL and
// imports github.com/google/go-cmp, whose package initialisers cost every
// run of the small CLI binary (and so every job's executor) most of a
// millisecond. Only the expressions nai writes are here: literal values
// (Value, String, Int, Float), tuples, objects, function calls and
// heredocs. The layout rules are hclwrite's, kept to the tokens those
// produce; the tests check both against hclwrite itself.
package hclout
