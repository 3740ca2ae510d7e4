package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/internal/snapshot"
	"github.com/nai-project/nai/structs"
)

// operatorSnapshotCommand is `nai operator snapshot save|inspect|restore`:
// backups of the servers' raft state (server/snapshot.go). The file is
// checked whole (checksums, then every record of the state) after a save,
// before a restore is sent, and by inspect.
func operatorSnapshotCommand() *cli.Command {
	return &cli.Command{
		Name:   "snapshot",
		Usage:  "save, check and restore snapshots of the servers' state (backups)",
		Action: parentAction,
		Subcommands: []*cli.Command{
			{
				Name:      "save",
				Usage:     "save a snapshot of the cluster's state to FILE (a management token: it holds token hashes)",
				ArgsUsage: "[-stale] FILE",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "stale", Usage: "take it from the server answering instead of the leader (when there is no leader)"},
					addressFlag(),
				},
				Action: snapshotSave,
			},
			{
				Name:      "inspect",
				Usage:     "check a snapshot file and show what it holds",
				ArgsUsage: "[-json] FILE",
				Flags:     []cli.Flag{jsonFlag()},
				Action:    snapshotInspect,
			},
			{
				Name:      "restore",
				Usage:     "replace the state of every server with a snapshot's (a management token)",
				ArgsUsage: "[-force] FILE",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "force", Usage: "restore a snapshot taken on another cluster"},
					addressFlag(),
				},
				Action: snapshotRestore,
			},
		},
	}
}

func snapshotSave(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "FILE to save the snapshot to", usageLine(c)); err != nil {
		return err
	}
	path := c.Args().First()
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing
	body, err := cl.Snapshot(c.Context, c.Bool("stale"))
	if err != nil {
		tmp.Close()
		return fmt.Errorf("save snapshot: %w", err)
	}
	_, err = io.Copy(tmp, body)
	body.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("save snapshot to %s: %w", path, err)
	}
	info, err := inspectSnapshot(tmp.Name())
	if err != nil {
		return fmt.Errorf("save snapshot: what the server sent is not a whole snapshot (nothing written to %s): %w", path, err)
	}
	// As Consul and Nomad do, an existing file is replaced, whole and
	// only by a checked snapshot (the rename); the answer says so.
	replaced := ""
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		replaced = fmt.Sprintf(" (replaced the %s file that was there)", structs.FormatSize(fi.Size()))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	m := info.Meta
	fmt.Fprintf(c.App.Writer, "Saved snapshot to %s%s: index %d, term %d, cluster %s, from server %s, %s of state\n",
		path, replaced, m.Index, m.Term, clusterName(m.ClusterID), m.Server, structs.FormatSize(m.Size))
	return nil
}

func snapshotInspect(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "snapshot FILE", usageLine(c)); err != nil {
		return err
	}
	info, err := inspectSnapshot(c.Args().First())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, info)
	}
	return formatSnapshotInfo(c.App.Writer, info)
}

func formatSnapshotInfo(w io.Writer, info *structs.SnapshotInfo) error {
	m := info.Meta
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\n", m.ID)
	fmt.Fprintf(tw, "Index\t%d\n", m.Index)
	fmt.Fprintf(tw, "Term\t%d\n", m.Term)
	fmt.Fprintf(tw, "Cluster ID\t%s\n", clusterName(m.ClusterID))
	fmt.Fprintf(tw, "Server\t%s\n", m.Server)
	fmt.Fprintf(tw, "Version\t%s\n", m.Version)
	fmt.Fprintf(tw, "Created\t%s\n", m.CreateTime.Format(time.RFC3339))
	fmt.Fprintf(tw, "State size\t%s\n", structs.FormatSize(m.Size))
	fmt.Fprintf(tw, "Checksums\tverified\n")
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tROWS\t")
	total := 0
	for _, t := range info.Tables {
		fmt.Fprintf(tw, "%s\t%d\t\n", t.Name, t.Rows)
		total += t.Rows
	}
	fmt.Fprintf(tw, "total\t%d\t\n", total)
	return tw.Flush()
}

func clusterName(id string) string {
	if id == "" {
		return "(none: a dev agent)"
	}
	return id
}

func snapshotRestore(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "snapshot FILE", usageLine(c)); err != nil {
		return err
	}
	path := c.Args().First()
	// Refuse a bad file here, before anything is sent (the server checks
	// again).
	info, err := inspectSnapshot(path)
	if err != nil {
		return fmt.Errorf("restore refused, nothing changed: %w", err)
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	res, err := cl.RestoreSnapshot(c.Context, f, c.Bool("force"))
	if err != nil {
		return fmt.Errorf("restore %s: %w", path, err)
	}
	m := info.Meta
	fmt.Fprintf(c.App.Writer, "Restored the snapshot of index %d (cluster %s, taken %s on %s) on every server; the state continues at index %d\n",
		m.Index, clusterName(m.ClusterID), m.CreateTime.Format(time.RFC3339), m.Server, res.Index)
	if res.Forced {
		fmt.Fprintln(c.App.Writer, "The snapshot came from another cluster (-force): its tokens and the servers' secret replaced this cluster's; clients register again.")
	}
	return nil
}

// inspectSnapshot checks a snapshot file whole, as a server would before
// restoring it: the archive and its checksums, then every record of the
// state.
func inspectSnapshot(path string) (*structs.SnapshotInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tmp, err := os.CreateTemp("", "nai-snapshot-state-*")
	if err != nil {
		return nil, fmt.Errorf("check snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	meta, err := snapshot.Read(f, tmp)
	if err != nil {
		if errors.Is(err, snapshot.ErrInvalid) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, fmt.Errorf("check snapshot %s: %w", path, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	tables, err := state.Inspect(tmp)
	if err != nil {
		return nil, fmt.Errorf("%s: the checksums match but the state cannot be read: %w", path, err)
	}
	return &structs.SnapshotInfo{Meta: meta, Tables: tables}, nil
}
