package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/internal/gossipkey"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// clusterCommands are the operator's view of the cluster: serf members
// and the agent's own state (the raft and keygen commands are under
// `nai operator`, see clusterOperatorSubcommands).
func clusterCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:   "server",
			Usage:  "the cluster's servers",
			Action: parentAction,
			Subcommands: []*cli.Command{
				{
					Name:      "members",
					Usage:     "list the servers serf knows and which one leads (-all: clients too)",
					ArgsUsage: "[-json] [-all]",
					Flags:     []cli.Flag{jsonFlag(), addressFlag(), &cli.BoolFlag{Name: "all", Usage: "list client agents too"}},
					Action:    serverMembers,
				},
				{
					Name:      "force-leave",
					Usage:     "mark a failed agent as left (a server is then removed from raft)",
					ArgsUsage: "[-json] NAME",
					Flags:     []cli.Flag{jsonFlag(), addressFlag()},
					Action:    serverForceLeave,
				},
			},
		},
		{
			Name:      "agent-info",
			Usage:     "show the agent's role, raft state and any problem it has (bad join, key mismatch, ...)",
			ArgsUsage: "[-json]",
			Flags:     []cli.Flag{jsonFlag(), addressFlag()},
			Action:    agentInfo,
		},
	}
}

func serverMembers(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	members, err := cl.Members(c.Context)
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	if !c.Bool("all") {
		servers := members[:0:0]
		for _, m := range members {
			if strings.Contains(m.Role, "server") {
				servers = append(servers, m)
			}
		}
		members = servers
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, members)
	}
	return formatMembers(c.App.Writer, members)
}

func formatMembers(w io.Writer, members []structs.AgentMember) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tSTATUS\tLEADER\tROLE\tDATACENTER\tRAFT")
	for _, m := range members {
		raft := m.RaftAddr
		if raft == "" {
			raft = "-"
		}
		status := m.Status
		if m.TagsError != "" {
			status += " (bad tags: " + m.TagsError + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\t%s\n", m.Name, m.Addr, status, m.Leader, m.Role, m.Datacenter, raft)
	}
	return tw.Flush()
}

func serverForceLeave(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "agent NAME", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if err := cl.ForceLeave(c.Context, c.Args().First()); err != nil {
		return fmt.Errorf("force-leave %s: %w", c.Args().First(), err)
	}
	if err := reportChange(c, c.App.Writer, change{Action: "left", Kind: "agent", Name: c.Args().First()}, "%s marked as left", c.Args().First()); err != nil {
		return err
	}
	return nil
}

func raftListPeers(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	stale := c.Bool("stale")
	list := cl.RaftConfiguration
	if stale {
		list = cl.RaftConfigurationStale
	}
	peers, err := list(c.Context)
	if err != nil {
		return fmt.Errorf("list raft peers: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, peers)
	}
	if stale {
		if err := formatStaleHeader(c.App.Writer, peers); err != nil {
			return err
		}
	}
	return formatPeers(c.App.Writer, peers, stale)
}

// formatStaleHeader says whose view a stale listing is, and whether that
// server knows a leader.
func formatStaleHeader(w io.Writer, peers []structs.RaftPeer) error {
	self, leader := "the server answering", ""
	for _, p := range peers {
		if p.Self {
			self = p.ID
			if p.State != "" {
				self += " (" + p.State + ")"
			}
		}
		if p.Leader {
			leader = p.ID
		}
	}
	msg := "The raft configuration as " + self + " holds it (-stale: no other server was asked)"
	if leader == "" {
		msg += "; it knows no raft leader."
	} else {
		msg += "; it takes " + leader + " for the leader."
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

func formatPeers(w io.Writer, peers []structs.RaftPeer, stale bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tVOTER\tHEALTH\tSERF\tLAST INDEX\tLAG\tCONTACT\tVERSION\tLOG FORMAT")
	var problems []string
	for _, p := range peers {
		state := p.State
		switch {
		case state != "":
		case p.Leader:
			state = "leader"
		case stale:
			state = "-"
		default:
			state = "follower" // a server too old to say
		}
		health := "healthy"
		switch {
		case stale && !p.Self && p.SerfStatus == "alive":
			health = "unknown" // not asked
		case !p.Healthy:
			health = "failing"
			msg := p.ID + ": " + p.Problem
			if !p.FailedSince.IsZero() {
				msg += " (not alive in serf since " + p.FailedSince.UTC().Format(time.RFC3339) + ")"
			}
			problems = append(problems, msg)
		}
		index, lag, contact, vsn, format := "-", "-", "-", dash(p.Version), "-"
		if p.LastIndex > 0 {
			index, lag = fmt.Sprint(p.LastIndex), fmt.Sprint(p.Lag)
			if stale {
				lag = "-" // nothing to compare with
			}
			if !p.Leader && (p.LastContact > 0 || !stale) {
				contact = p.LastContact.D().Round(time.Millisecond).String()
			}
		}
		if p.LogFormat > 0 {
			format = fmt.Sprint(p.LogFormat)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Address, state, p.Suffrage == "voter",
			health, dash(p.SerfStatus), index, lag, contact, vsn, format)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range problems {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func raftRemovePeer(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "server ID", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if err := cl.RemoveRaftPeer(c.Context, c.Args().First()); err != nil {
		return fmt.Errorf("remove raft peer %s: %w", c.Args().First(), err)
	}
	if err := reportChange(c, c.App.Writer, change{Action: "removed", Kind: "raft peer", Name: c.Args().First()}, "removed %s from the raft configuration", c.Args().First()); err != nil {
		return err
	}
	return nil
}

func operatorKeygen(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	k, err := gossipkey.Generate()
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, k)
	return nil
}

func agentInfo(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	self, err := cl.AgentSelf(c.Context)
	if err != nil {
		return fmt.Errorf("agent info: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, self)
	}
	return formatAgentInfo(c.App.Writer, self, time.Now())
}

func formatAgentInfo(w io.Writer, s *structs.AgentSelf, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k+":", v)
		}
	}
	row("Name", s.Name)
	row("Version", s.Version)
	row("Role", s.Role)
	row("Datacenter", s.Datacenter)
	row("HTTP", s.HTTPAddr)
	row("Serf", s.SerfAddr)
	row("Raft", s.RaftAddr)
	if s.RaftState != "" {
		row("Raft state", s.RaftState)
		row("Leader", fmt.Sprintf("%t (leader at %s)", s.Leader, jobtext.OrDash(s.LeaderAddr)))
		row("Raft index", fmt.Sprintf("%d (state %d)", s.RaftLastIndex, s.StateIndex))
	}
	row("Cluster id", s.ClusterID)
	if s.BootstrapExpect > 0 {
		row("Expect", fmt.Sprint(s.BootstrapExpect))
	}
	row("Encrypted", fmt.Sprint(s.Encrypted))
	row("Members", fmt.Sprintf("%d alive", s.AliveMembers))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Problems) == 0 {
		_, err := fmt.Fprintln(w, "Problems:   none")
		return err
	}
	fmt.Fprintf(w, "Problems (%d):\n", len(s.Problems))
	for _, p := range s.Problems {
		times := ""
		if p.Count > 1 {
			times = fmt.Sprintf(", %d times", p.Count)
		}
		fmt.Fprintf(w, "  [%s] %s (last %s ago%s)\n", p.Kind, p.Message, human(now.Sub(p.Last)), times)
	}
	return nil
}

// clusterOperatorSubcommands are `nai operator raft ...` and `nai operator
// keygen`. The operator group itself is defined in operator.go, which adds
// them to its subcommands.
func clusterOperatorSubcommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:   "raft",
			Usage:  "inspect and repair the raft configuration",
			Action: parentAction,
			Subcommands: []*cli.Command{
				{
					Name:      "list-peers",
					Usage:     "list the servers of the raft configuration (-stale: the answering server's own view, at once, without a leader)",
					ArgsUsage: "[-json] [-stale]",
					Flags: []cli.Flag{jsonFlag(), addressFlag(), &cli.BoolFlag{Name: "stale",
						Usage: "answer from the server asked, from its own raft configuration, without asking the leader or the other servers (works when quorum is lost)"}},
					Action: raftListPeers,
				},
				{
					Name:      "remove-peer",
					Usage:     "remove a dead server from the raft configuration by its id (node name)",
					ArgsUsage: "[-json] ID",
					Flags:     []cli.Flag{jsonFlag(), addressFlag()},
					Action:    raftRemovePeer,
				},
			},
		},
		{
			Name:   "keygen",
			Usage:  "print a new gossip encryption key for the agents' encrypt setting",
			Action: operatorKeygen,
		},
	}
}
