package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/structs"
)

// operatorBlobsCommand is `nai operator blobs`: the blob store as raft
// knows it, under-replicated blobs first.
func operatorBlobsCommand() *cli.Command {
	return &cli.Command{
		Name:      "blobs",
		Usage:     "list the stored blobs: size, copies held/wanted, holders and references (under-replicated first)",
		ArgsUsage: "[-json]",
		Flags:     []cli.Flag{jsonFlag(), addressFlag()},
		Action:    operatorBlobs,
	}
}

func operatorBlobs(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return &usageError{msg: "nai operator blobs takes no arguments", usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	blobs, err := cl.Blobs(c.Context)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, blobs)
	}
	return formatBlobs(c.App.Writer, blobs, time.Now())
}

// blobState says in a word how a blob stands.
func blobState(b *structs.Blob) string {
	switch {
	case b.Deleted:
		return "deleting"
	case len(b.Holders) < b.Wanted:
		return "under-replicated"
	case len(b.References) == 0:
		return "unreferenced"
	}
	return "ok"
}

func formatBlobs(w io.Writer, blobs []*structs.Blob, now time.Time) error {
	if len(blobs) == 0 {
		_, err := fmt.Fprintln(w, "No blobs.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIGEST\tSIZE\tREPLICAS\tSTATE\tHOLDERS\tREFERENCES\tCREATED")
	for _, b := range blobs {
		holders := strings.Join(b.Holders, ",")
		if holders == "" {
			holders = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", shortDigest(b.Digest), structs.FormatSize(b.Size),
			len(b.Holders), b.Wanted, blobState(b), holders, blobRefsSummary(b.References), stamp(b.CreateTime, now))
	}
	return tw.Flush()
}

// blobRefsSummary lists up to three references and counts the rest.
func blobRefsSummary(refs []structs.BlobRef) string {
	if len(refs) == 0 {
		return "-"
	}
	const most = 3
	var parts []string
	for i, r := range refs {
		if i == most {
			parts = append(parts, fmt.Sprintf("+%d more", len(refs)-most))
			break
		}
		parts = append(parts, r.Kind+" "+r.ID)
	}
	return strings.Join(parts, ", ")
}
