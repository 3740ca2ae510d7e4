package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// kv writes aligned "Key  = value" lines, the layout of the status views.
type kv struct{ tw *tabwriter.Writer }

func newKV(w io.Writer) *kv { return &kv{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)} }

func (k *kv) add(key, value string) { fmt.Fprintf(k.tw, "%s\t= %s\n", key, value) }

// addIf adds the line only when there is something to say.
func (k *kv) addIf(key, value string) {
	if value != "" {
		k.add(key, value)
	}
}

func (k *kv) flush() error { return k.tw.Flush() }
