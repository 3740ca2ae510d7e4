package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// Identity and access commands: nai acl bootstrap, nai login, nai user,
// nai group, nai token. They are thin clients of /v1/acl/...

func aclCommands() []*cli.Command {
	withAddr := func(fs ...cli.Flag) []cli.Flag { return append(fs, addressFlag()) }
	return []*cli.Command{
		{
			Name:   "acl",
			Usage:  "bootstrap access control (once per cluster)",
			Action: parentAction,
			Subcommands: []*cli.Command{
				{Name: "bootstrap", Usage: "make the first management token; prints its secret (once: keep it safe)", ArgsUsage: "[-json]",
					Flags: withAddr(jsonFlag()), Action: aclBootstrap},
			},
		},
		{Name: "login", Usage: "save a token for this account's nai commands (~/.nai/token, mode 0600)", ArgsUsage: "[-token SECRET] (else read from stdin)",
			Flags: withAddr(&cli.StringFlag{Name: "token", Usage: "the secret (visible in the process list; prefer stdin)"}), Action: login},
		{Name: "logout", Usage: "forget the token `nai login` saved", Action: logout},
		{
			Name:   "user",
			Usage:  "manage users (each has a personal group and a unix account its tasks run as)",
			Action: parentAction,
			Subcommands: []*cli.Command{
				{Name: "create", Usage: "make a user and its personal group", ArgsUsage: "[-unix-account ACCOUNT] [-json] NAME",
					Flags: withAddr(&cli.StringFlag{Name: "unix-account", Usage: "account its tasks run as on GPU hosts (default: NAME)"}, jsonFlag()), Action: userCreate},
				{Name: "list", Usage: "list users", ArgsUsage: "[-json]", Flags: withAddr(jsonFlag()), Action: userList},
				{Name: "show", Usage: "show a user and its groups", ArgsUsage: "[-json] NAME", Flags: withAddr(jsonFlag()), Action: userShow},
				{Name: "set", Usage: "change a user's unix account", ArgsUsage: "[-json] -unix-account ACCOUNT NAME",
					Flags: withAddr(&cli.StringFlag{Name: "unix-account", Usage: "`ACCOUNT` its tasks run as on GPU hosts"}, jsonFlag()), Action: userSet},
				{Name: "rm", Usage: "remove a user, its personal group and its tokens", ArgsUsage: "[-force] [-json] NAME",
					Flags: withAddr(&cli.BoolFlag{Name: "force", Usage: "also cancel the user's pending and running jobs"}, jsonFlag()), Action: userRm},
			},
		},
		{
			Name:   "group",
			Usage:  "manage groups: members with roles reader, member, admin; quotas and shares",
			Action: parentAction,
			Subcommands: []*cli.Command{
				{Name: "create", Usage: "make a group", ArgsUsage: "[-description TEXT] [-json] NAME",
					Flags: withAddr(&cli.StringFlag{Name: "description", Usage: "what the group is"}, jsonFlag()), Action: groupCreate},
				{Name: "list", Usage: "list groups", ArgsUsage: "[-json]", Flags: withAddr(jsonFlag()), Action: groupList},
				{Name: "show", Usage: "show a group's members, quota and shares", ArgsUsage: "[-json] NAME", Flags: withAddr(jsonFlag()), Action: groupShow},
				{Name: "rm", Usage: "remove a group that owns no pending or running job", ArgsUsage: "[-json] NAME", Flags: withAddr(jsonFlag()), Action: groupRm},
				{Name: "add-member", Usage: "add a member, or change its role", ArgsUsage: "[-role reader|member|admin] [-json] GROUP USER",
					Flags: withAddr(&cli.StringFlag{Name: "role", Value: "member", Usage: "the `ROLE`: reader (see, pull), member (also submit, push), admin (also cancel others' jobs, remove)"}, jsonFlag()), Action: groupAddMember},
				{Name: "rm-member", Usage: "remove a member", ArgsUsage: "[-json] GROUP USER", Flags: withAddr(jsonFlag()), Action: groupRmMember},
				{Name: "quota", Usage: "limit a group: GPUs its running jobs hold, pending jobs considered, storage of its datasets and models (0: no limit)",
					ArgsUsage: "[-gpus N] [-pending N] [-storage SIZE] [-json] GROUP",
					Flags: withAddr(&cli.IntFlag{Name: "gpus", Usage: "most GPUs its running jobs may hold"},
						&cli.IntFlag{Name: "pending", Usage: "most pending jobs considered at once"},
						&cli.StringFlag{Name: "storage", Usage: "most bytes of datasets and models, a `SIZE` such as 2TiB"}, jsonFlag()), Action: groupQuota},
				{Name: "shares", Usage: "set a group's fair-share shares", ArgsUsage: "[-json] GROUP SHARES", Flags: withAddr(jsonFlag()), Action: groupShares},
			},
		},
		{
			Name:   "token",
			Usage:  "manage API tokens (the secret is shown once; only its hash is kept)",
			Action: parentAction,
			Subcommands: []*cli.Command{
				{Name: "create", Usage: "make a token: for yourself (any user: no policy, expiring no later than your token), or with a management token for a user or of a policy (management, operator, node)", ArgsUsage: "[-user U | -policy P] [-ttl 720h] [-name N] [-json]",
					Flags: withAddr(&cli.StringFlag{Name: "user", Usage: "the user the token acts as (default: yours)"},
						&cli.StringSliceFlag{Name: "policy", Usage: "management, operator or node; repeatable"},
						&cli.StringFlag{Name: "ttl", Usage: "how long it works (default 720h for a user's token; never for a policy token without a user)"},
						&cli.StringFlag{Name: "name", Usage: "a name to recognise it by"}, jsonFlag()), Action: tokenCreate},
				{Name: "list", Usage: "list tokens (management: all, or -user U; others: their own)", ArgsUsage: "[-user U] [-json]",
					Flags: withAddr(&cli.StringFlag{Name: "user", Usage: "only this user's tokens"}, jsonFlag()), Action: tokenList},
				{Name: "revoke", Usage: "revoke a token by its accessor (or a unique prefix of 8 characters or more, as MADE BY in token list shows), and the tokens it made", ArgsUsage: "[-json] ACCESSOR", Flags: withAddr(jsonFlag()), Action: tokenRevoke},
				{Name: "self", Usage: "show the token this command uses, its user and groups", ArgsUsage: "[-json]", Flags: withAddr(jsonFlag()), Action: tokenSelf},
			},
		},
	}
}

func aclBootstrap(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	t, err := cl.ACLBootstrap(c.Context)
	if err != nil {
		return fmt.Errorf("acl bootstrap: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, t)
	}
	fmt.Fprintf(c.App.Writer, "Accessor: %s\nSecret:   %s\n", t.AccessorID, t.SecretID)
	fmt.Fprintln(c.App.ErrWriter, "This management token can do everything. Keep the secret safe: it is not shown again. Next:\n"+
		"  export NAI_TOKEN=<secret>\n  nai user create alice -unix-account alice\n  nai token create -user alice")
	return nil
}

func login(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	secret := strings.TrimSpace(c.String("token"))
	if secret == "" {
		if isTerminal(os.Stdin) {
			fmt.Fprint(c.App.ErrWriter, "Token secret: ")
		}
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read token: %w", err)
		}
		secret = strings.TrimSpace(line)
	}
	if secret == "" {
		return &usageError{msg: "no token given", usage: usageLine(c)}
	}
	cl, err := api.New(api.Config{Address: address(c), Token: secret})
	if err != nil {
		return err
	}
	who, err := cl.TokenSelf(c.Context)
	if err != nil {
		return fmt.Errorf("the servers do not accept this token: %w", err)
	}
	path := api.TokenFile()
	if path == "" {
		return errors.New("no home directory to keep the token in: set NAI_TOKEN instead")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "Logged in as %s; the token is in %s.\n", describeWhoami(who), path)
	return nil
}

func logout(c *cli.Context) error {
	path := api.TokenFile()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("logout: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "Removed %s.\n", path)
	return nil
}

func describeWhoami(w *structs.Whoami) string {
	switch {
	case w.ACLDisabled:
		return "anyone (this cluster runs without ACLs)"
	case w.User != nil && w.Token != nil && len(w.Token.Policies) > 0:
		return fmt.Sprintf("user %s (policies %s)", w.User.Name, strings.Join(w.Token.Policies, ", "))
	case w.User != nil:
		return "user " + w.User.Name
	case w.Token != nil:
		return "a " + strings.Join(w.Token.Policies, ", ") + " token"
	}
	return "nobody"
}

func userCreate(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "user name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	u, err := cl.CreateUser(c.Context, &structs.User{Name: c.Args().First(), UnixAccount: c.String("unix-account")})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, u)
	}
	fmt.Fprintf(c.App.ErrWriter, "Created user %s (tasks run as unix account %s) and its personal group %s.\n", u.Name, u.Account(), u.Name)
	return nil
}

func userList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	us, err := cl.Users(c.Context)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, us)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUNIX ACCOUNT\tCREATED")
	for _, u := range us {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Account(), fmtTime(u.CreateTime))
	}
	return tw.Flush()
}

func userShow(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "user name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	u, err := cl.User(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, u)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Name\t%s\nUnix account\t%s\nCreated\t%s\nGroups\t%s\n", u.Name, u.Account(), fmtTime(u.CreateTime), roleList(u.Groups))
	return tw.Flush()
}

func roleList(m map[string]structs.GroupRole) string {
	var out []string
	for _, g := range slices.Sorted(maps.Keys(m)) {
		out = append(out, g+" ("+string(m[g])+")")
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

func userSet(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "user name", usageLine(c)); err != nil {
		return err
	}
	if !c.IsSet("unix-account") {
		return &usageError{msg: "nothing to change: give -unix-account", usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	u := &structs.User{Name: c.Args().First(), UnixAccount: c.String("unix-account")}
	if err := cl.UpdateUser(c.Context, u); err != nil {
		return fmt.Errorf("change user %s: %w", u.Name, err)
	}
	return reportChange(c, c.App.ErrWriter, change{Action: "updated", Kind: "user", Name: u.Name, Detail: u}, "User %s now runs its tasks as %s.", u.Name, u.UnixAccount)
}

func userRm(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "user name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if err := cl.DeleteUser(c.Context, c.Args().First(), c.Bool("force")); err != nil {
		return fmt.Errorf("remove user: %w", err)
	}
	return reportChange(c, c.App.ErrWriter, change{Action: "removed", Kind: "user", Name: c.Args().First()}, "Removed user %s.", c.Args().First())
}

func groupCreate(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "group name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	g, err := cl.CreateGroup(c.Context, &structs.Group{Name: c.Args().First(), Description: c.String("description")})
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, g)
	}
	fmt.Fprintf(c.App.ErrWriter, "Created group %s. Add members with `nai group add-member %s USER -role member`.\n", g.Name, g.Name)
	return nil
}

func groupList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	gs, err := cl.Groups(c.Context)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, gs)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMEMBERS\tPERSONAL\tDESCRIPTION")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%d\t%v\t%s\n", g.Name, len(g.Members), g.Personal, jobtext.OrDash(jobtext.Printable(g.Description)))
	}
	return tw.Flush()
}

func groupShow(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "group name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	g, err := cl.Group(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, g)
	}
	return formatGroup(c.App.Writer, g)
}

func formatGroup(w io.Writer, g *structs.Group) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Name\t%s\n", g.Name)
	if g.Description != "" {
		fmt.Fprintf(tw, "Description\t%s\n", jobtext.Printable(g.Description))
	}
	if g.Personal {
		fmt.Fprintf(tw, "Personal\tyes (user %s's)\n", g.Name)
	}
	quota := "none"
	if q := g.Quota; q != nil {
		quota = fmt.Sprintf("%s GPUs, %s pending jobs, %s storage", limitInt(q.MaxGPUs), limitInt(q.MaxPending), limitSize(q.MaxStorageBytes))
	}
	fmt.Fprintf(tw, "Quota\t%s\n", quota)
	shares := "default (1)"
	if g.Shares != nil {
		shares = fmt.Sprint(*g.Shares)
	}
	fmt.Fprintf(tw, "Shares\t%s\n", shares)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE")
	for _, m := range g.Members {
		fmt.Fprintf(tw, "%s\t%s\n", m.User, m.Role)
	}
	return tw.Flush()
}

func limitSize(n int64) string {
	if n == 0 {
		return "-"
	}
	return structs.FormatSize(n)
}

func groupRm(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "group name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if err := cl.DeleteGroup(c.Context, c.Args().First()); err != nil {
		return fmt.Errorf("remove group: %w", err)
	}
	return reportChange(c, c.App.ErrWriter, change{Action: "removed", Kind: "group", Name: c.Args().First()}, "Removed group %s.", c.Args().First())
}

func groupAddMember(c *cli.Context) error {
	if err := needArgs(2, c.Args().Slice(), "GROUP and USER", usageLine(c)); err != nil {
		return err
	}
	role := structs.GroupRole(c.String("role"))
	if err := role.Validate(); err != nil {
		return &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	g, u := c.Args().Get(0), c.Args().Get(1)
	if err := cl.SetGroupMember(c.Context, g, u, role); err != nil {
		return fmt.Errorf("add %s to group %s: %w", u, g, err)
	}
	return reportChange(c, c.App.ErrWriter, change{Action: "updated", Kind: "group", Name: g, Detail: structs.GroupMember{User: u, Role: role}},
		"User %s is now %s of group %s.", u, withArticle(string(role)), g)
}

func withArticle(role string) string {
	if strings.HasPrefix(role, "a") {
		return "an " + role
	}
	return "a " + role
}

func groupRmMember(c *cli.Context) error {
	if err := needArgs(2, c.Args().Slice(), "GROUP and USER", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	g, u := c.Args().Get(0), c.Args().Get(1)
	if err := cl.RemoveGroupMember(c.Context, g, u); err != nil {
		return fmt.Errorf("remove %s from group %s: %w", u, g, err)
	}
	return reportChange(c, c.App.ErrWriter, change{Action: "updated", Kind: "group", Name: g, Detail: structs.GroupMember{User: u}}, "Removed %s from group %s.", u, g)
}

func groupQuota(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "group name", usageLine(c)); err != nil {
		return err
	}
	q := &structs.AccountQuota{Kind: structs.AccountGroup, Name: c.Args().First(),
		Quota: structs.Quota{MaxGPUs: c.Int("gpus"), MaxPending: c.Int("pending")}}
	if v := c.String("storage"); v != "" {
		n, err := structs.ParseSize(v)
		if err != nil || n < 0 {
			return &usageError{msg: fmt.Sprintf("-storage %q is not a size such as 500GiB", v), usage: usageLine(c)}
		}
		q.MaxStorageBytes = n
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if _, err := cl.SetQuota(c.Context, q); err != nil {
		return fmt.Errorf("set quota of group %s: %w", q.Name, err)
	}
	return reportChange(c, c.App.ErrWriter, change{Action: "updated", Kind: "quota", Name: q.Name, Detail: q},
		"Group %s: at most %s GPUs in use, %s pending jobs considered, %s of datasets and models.",
		q.Name, limitInt(q.MaxGPUs), limitInt(q.MaxPending), limitSize(q.MaxStorageBytes))
}

func groupShares(c *cli.Context) error {
	if err := needArgs(2, c.Args().Slice(), "GROUP and SHARES", usageLine(c)); err != nil {
		return err
	}
	var n float64
	if _, err := fmt.Sscan(c.Args().Get(1), &n); err != nil {
		return &usageError{msg: fmt.Sprintf("shares %q is not a number", c.Args().Get(1)), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	sh := &structs.Share{Kind: structs.AccountGroup, Name: c.Args().First(), Shares: n}
	idx, err := cl.SetShare(c.Context, sh)
	if err != nil {
		return fmt.Errorf("set shares of group %s: %w", sh.Name, err)
	}
	return reportChange(c, c.App.ErrWriter, change{Action: "updated", Kind: "share", Name: sh.Name, Index: idx, Detail: sh}, "Group %s has %s shares.", sh.Name, formatFloat(n))
}

func tokenCreate(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	spec := &structs.TokenCreateSpec{User: c.String("user"), Policies: c.StringSlice("policy"), Name: c.String("name")}
	if v := c.String("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return &usageError{msg: fmt.Sprintf("-ttl %q is not a positive duration such as 720h", v), usage: usageLine(c)}
		}
		spec.TTL = structs.Duration(d)
	}
	if err := spec.Validate(); err != nil {
		return &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	t, err := cl.CreateToken(c.Context, spec)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, t)
	}
	fmt.Fprintf(c.App.Writer, "Accessor: %s\nSecret:   %s\n", t.AccessorID, t.SecretID)
	exp := "never"
	if !t.ExpirationTime.IsZero() {
		exp = fmtTime(t.ExpirationTime)
	}
	fmt.Fprintf(c.App.ErrWriter, "The secret is shown only now. It expires: %s. The user logs in with `nai login`.\n", exp)
	return nil
}

func tokenList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	ts, err := cl.Tokens(c.Context, c.String("user"))
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, ts)
	}
	return formatTokenList(c.App.Writer, ts, time.Now())
}

// formatTokenList is the table of `nai token list`; a token past its
// expiration time (kept until the servers remove it) says "expired".
func formatTokenList(w io.Writer, ts []*structs.Token, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// MADE BY: the token that made it (its first 8 characters, which
	// `nai token revoke` takes), for a token a user made for itself;
	// revoking that one revokes it too.
	fmt.Fprintln(tw, "ACCESSOR\tNAME\tUSER\tPOLICIES\tEXPIRES\tCREATED\tMADE BY")
	for _, t := range ts {
		exp := "never"
		if !t.ExpirationTime.IsZero() {
			exp = fmtTime(t.ExpirationTime)
			if !t.ExpirationTime.After(now) {
				exp = "expired " + exp
			}
		}
		madeBy := t.MadeBy
		if len(madeBy) > 8 {
			madeBy = madeBy[:8]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.AccessorID, jobtext.OrDash(jobtext.Printable(t.Name)), jobtext.OrDash(t.User), listOr(t.Policies, "-"), exp, fmtTime(t.CreateTime), jobtext.OrDash(madeBy))
	}
	return tw.Flush()
}

// minAccessorPrefix is the shortest accessor prefix `nai token revoke`
// takes: what MADE BY in `nai token list` shows.
const minAccessorPrefix = 8

func tokenRevoke(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "token accessor", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	arg := c.Args().First()
	// The tokens the caller sees (all for management, else its own):
	// to take a prefix, and to say which tokens go with this one.
	// Without the list (an agent of an older release), the accessor goes
	// as given: the server says whether it names a token.
	ts, listErr := cl.Tokens(c.Context, "")
	accessor := arg
	if listErr == nil {
		if accessor, err = resolveAccessor(ts, arg); err != nil {
			return &usageError{msg: err.Error(), usage: usageLine(c)}
		}
	}
	made := tokensMadeFrom(ts, accessor)
	if err := cl.RevokeToken(c.Context, accessor); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	ch := change{Action: "removed", Kind: "token", Name: accessor}
	if len(made) == 0 {
		return reportChange(c, c.App.ErrWriter, ch, "Revoked token %s.", accessor)
	}
	ch.Detail = map[string][]string{"made_by_it": made}
	return reportChange(c, c.App.ErrWriter, ch, "Revoked token %s and the %s it made: %s.", accessor, plural(len(made), "token"), strings.Join(made, ", "))
}

// resolveAccessor finds the token arg names: its accessor, or a prefix of
// one at least minAccessorPrefix long that no other token shares. An
// accessor no listed token has is passed on as it is (the server says
// whether it exists).
func resolveAccessor(ts []*structs.Token, arg string) (string, error) {
	var matches []string
	for _, t := range ts {
		if t.AccessorID == arg {
			return arg, nil
		}
		if strings.HasPrefix(t.AccessorID, arg) {
			matches = append(matches, t.AccessorID)
		}
	}
	switch {
	case len(matches) == 0:
		return arg, nil
	case len(arg) < minAccessorPrefix:
		return "", fmt.Errorf("token accessor %q is too short: give at least %d characters (as MADE BY in nai token list), or all of it", arg, minAccessorPrefix)
	case len(matches) > 1:
		slices.Sort(matches)
		return "", fmt.Errorf("token accessor %q is ambiguous: it starts %s; give more of it", arg, strings.Join(matches, ", "))
	}
	return matches[0], nil
}

// tokensMadeFrom lists the accessors of the tokens the token made, and
// those they made, in turn, among ts: the server revokes them with it.
func tokensMadeFrom(ts []*structs.Token, accessor string) []string {
	children := map[string][]string{}
	for _, t := range ts {
		if t.MadeBy != "" {
			children[t.MadeBy] = append(children[t.MadeBy], t.AccessorID)
		}
	}
	var out []string
	seen := map[string]bool{accessor: true}
	queue := []string{accessor}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, c := range children[id] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

func tokenSelf(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	w, err := cl.TokenSelf(c.Context)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, w)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Acting as\t%s\n", describeWhoami(w))
	if t := w.Token; t != nil {
		exp := "never"
		if !t.ExpirationTime.IsZero() {
			exp = fmtTime(t.ExpirationTime)
		}
		fmt.Fprintf(tw, "Accessor\t%s\nName\t%s\nExpires\t%s\n", t.AccessorID, jobtext.OrDash(jobtext.Printable(t.Name)), exp)
	}
	if w.User != nil {
		fmt.Fprintf(tw, "Unix account\t%s\nGroups\t%s\n", w.User.Account(), roleList(w.Groups))
	}
	return tw.Flush()
}

// fmtTime prints a time for people, "-" for none.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// operatorAuditCommand is `nai operator audit`: the log of writes.
func operatorAuditCommand() *cli.Command {
	return &cli.Command{Name: "audit", Usage: "the audit log of API writes: who, what, which object, result, when",
		ArgsUsage: "[-since 24h|30d|DATE] [-user U] [-limit N] [-json]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "since", Usage: "only events since an age (24h, 30d), a date or an RFC 3339 time"},
			&cli.StringFlag{Name: "user", Usage: "only this user's events"},
			&cli.IntFlag{Name: "limit", Value: 100, Usage: "the newest N events (0: all)"},
			jsonFlag(), addressFlag()},
		Action: operatorAudit}
}

func operatorAudit(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	if c.Int("limit") < 0 {
		return &usageError{msg: "-limit must be 0 (all) or more", usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	limit := c.Int("limit")
	if limit == 0 {
		limit = -1 // the server's "all"
	}
	evs, err := cl.Audit(c.Context, api.AuditFilter{Since: c.String("since"), User: c.String("user"), Limit: max(limit, 0)})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, evs)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tWHO\tREQUEST\tOBJECT\tRESULT")
	for _, e := range evs {
		who := e.User
		if who == "" {
			who = e.Caller
		}
		result := fmt.Sprint(e.Status)
		if e.Error != "" {
			msg := e.Error
			if len(msg) > 60 {
				msg = msg[:57] + "..."
			}
			result += " " + msg
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), jobtext.OrDash(who), e.Method, jobtext.Printable(e.Path), jobtext.OrDash(jobtext.Printable(e.Object)), jobtext.Printable(result))
	}
	return tw.Flush()
}
