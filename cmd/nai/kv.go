package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nai-project/nai/internal/jobtext"
)

// kv writes aligned "Key  = value" lines, the layout of the status views.
type kv struct{ tw *tabwriter.Writer }

func newKV(w io.Writer) *kv { return &kv{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)} }

// add writes one line. The value may hold text that users wrote (a
// description, a label, a reason), so it goes through jobtext.Printable:
// a newline in it cannot draw a line of its own that reads like another
// key, nor an escape sequence reach the terminal.
func (k *kv) add(key, value string) { fmt.Fprintf(k.tw, "%s\t= %s\n", key, jobtext.Printable(value)) }

// addIf adds the line only when there is something to say.
func (k *kv) addIf(key, value string) {
	if value != "" {
		k.add(key, value)
	}
}

func (k *kv) flush() error { return k.tw.Flush() }
