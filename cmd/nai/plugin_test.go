package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// cliPluginEnv makes a directory with executables named as given, and puts
// it alone on PATH, with HOME somewhere without plugins.
func cliPluginPath(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/usr/bin:/bin")
	t.Setenv("HOME", t.TempDir())
	return dir
}

// `nai hello world` runs nai-hello with its arguments, the address, token
// and TLS files, and its exit status; -address given before it counts.
func TestCLIPluginRuns(t *testing.T) {
	cliPluginPath(t, map[string]string{
		"nai-hello": `echo "args=$* addr=$NAI_ADDR token=$NAI_TOKEN ca=$NAI_CACERT"; echo to-stderr >&2; exit 3`,
	})
	t.Setenv("NAI_ADDR", "http://10.0.0.1:4646")
	t.Setenv("NAI_TOKEN", "s3cret")
	t.Setenv("NAI_CACERT", "/etc/nai/ca.pem")
	code, out, errOut := runCLI(t, "hello", "world", "-x")
	if code != 3 || out != "args=world -x addr=http://10.0.0.1:4646 token=s3cret ca=/etc/nai/ca.pem\n" || errOut != "to-stderr\n" {
		t.Errorf("nai hello world: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "-address", "http://10.0.0.2:4646", "hello")
	if code != 3 || !strings.Contains(out, "addr=http://10.0.0.2:4646") {
		t.Errorf("nai -address X hello: exit %d, stdout %q", code, out)
	}
	// The token `nai login` saved reaches the plugin too.
	t.Setenv("NAI_TOKEN", "")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("from-login\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NAI_TOKEN_FILE", tokenFile)
	if _, out, _ = runCLI(t, "hello"); !strings.Contains(out, "token=from-login ") {
		t.Errorf("token from the login file: %q", out)
	}
}

// A built-in command wins over a plugin of its name; an unknown command
// with no plugin still gets its suggestion, which knows the plugins too.
func TestCLIPluginShadowedAndSuggestions(t *testing.T) {
	cliPluginPath(t, map[string]string{
		"nai-version": `echo "plugin ran"`,
		"nai-hello":   `echo hi`,
		"nai-":        `echo nameless`,
		"nai-noexec":  `echo never`,
	})
	if err := os.Chmod(filepath.Join(os.Getenv("PATH")[:strings.IndexByte(os.Getenv("PATH"), os.PathListSeparator)], "nai-noexec"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "version")
	if code != 0 || strings.Contains(out, "plugin ran") || !strings.HasPrefix(out, "nai ") {
		t.Errorf("nai version ran the plugin: exit %d, %q", code, out)
	}
	code, _, errOut := runCLI(t, "jbo")
	if code != 1 || !strings.Contains(errOut, `unknown command "jbo"; did you mean "job"?`) {
		t.Errorf("nai jbo: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "helloo")
	if code != 1 || !strings.Contains(errOut, `did you mean "hello"?`) {
		t.Errorf("nai helloo: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "noexec")
	if code != 1 || !strings.Contains(errOut, `unknown command "noexec"`) {
		t.Errorf("nai noexec (not executable): exit %d, stderr %q", code, errOut)
	}

	noServer(t)
	t.Setenv("NAI_ADDR", "http://127.0.0.1:1") // nobody there: the CLI plugins are listed anyway
	code, out, errOut = runCLI(t, "plugin", "list", "-json")
	var got pluginListing
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("plugin list -json: %v\n%s", err, out)
	}
	if code != 1 || !strings.Contains(errOut, "list cluster plugins") || len(got.CLI) != 2 {
		t.Fatalf("plugin list without a cluster: exit %d, %+v, stderr %q", code, got, errOut)
	}
	if got.CLI[0].Name != "hello" || got.CLI[0].Shadowed != "" || got.CLI[1].Name != "version" || got.CLI[1].Shadowed != "the built-in command nai version" {
		t.Errorf("CLI plugins %+v", got.CLI)
	}
}

// A plugin.hcl with a problem is refused before anything is sent, with
// file:line:col; so is a plugin named like a built-in command.
func TestPluginInstallBadInput(t *testing.T) {
	noServer(t)
	for _, tc := range []struct {
		name, src, want string
	}{
		{"syntax error", "plugin \"p\" {\n  version = \"1.0\"\n  kind = \n}\n", "plugin.hcl:3:"},
		{"bad kind", "plugin \"p\" {\n  version = \"1.0\"\n  kind = \"jb\"\n}\njob \"p\" {\n  task { command = \"true\" }\n}\n", "plugin.hcl:3:10"},
		{"shadows a built-in", "plugin \"job\" {\n  version = \"1.0\"\n  kind = \"job\"\n}\njob \"p\" {\n  task { command = \"true\" }\n}\n", "plugin name \"job\" is the built-in command `nai job`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "plugin.hcl"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := runCLI(t, "plugin", "install", dir)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, errOut, tc.want)
			}
		})
	}
	code, _, errOut := runCLI(t, "plugin", "install", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "plugin.hcl: no such file") {
		t.Errorf("a folder without plugin.hcl: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "plugin", "run", "split:no way")
	if code != 1 || !strings.Contains(errOut, `plugin version "no way" is invalid`) {
		t.Errorf("a bad version: exit %d, %q", code, errOut)
	}
}

func testPlugin() *structs.Artifact {
	spec := func(release string) *structs.PluginSpec {
		return &structs.PluginSpec{Name: "split-train-val", Version: release, Kind: structs.PluginDataset,
			Description: "Split a dataset of files into train/ and val/ by a seeded fraction",
			Variables: []structs.PluginVariable{
				{Name: "fraction", Type: "number", Default: "0.8", Description: "share of the files that go to train/"},
				{Name: "seed", Type: "number", Default: "0", Description: "seed of the shuffle"},
				{Name: "tag", Type: "string", Required: true, Description: "a required one"},
			}}
	}
	return &structs.Artifact{
		Kind: structs.KindPlugin, Name: "split-train-val", User: "alice", Group: "vision",
		Description: "Split a dataset of files into train/ and val/ by a seeded fraction",
		CreateTime:  ago(48 * time.Hour), ModifyTime: ago(time.Hour), LastVersion: 2,
		Versions: []*structs.ArtifactVersion{
			{Version: 1, Digest: strings.Repeat("e", 64), Size: 4 << 10, Files: 3, CreateTime: ago(48 * time.Hour), CreatedBy: "alice", Plugin: spec("1.0.0")},
			{Version: 2, Digest: strings.Repeat("f", 64), Size: 5 << 10, Files: 3, CreateTime: ago(time.Hour), CreatedBy: "bob", Plugin: spec("1.1.0"), UsedBy: []string{"9"}},
		},
	}
}

func TestFormatPlugins(t *testing.T) {
	p := testPlugin()
	var list, show bytes.Buffer
	if err := formatPluginList(&list, []*structs.Artifact{p}, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "plugin_list", list.Bytes())
	if err := formatPlugin(&show, p, p.Latest(), now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "plugin_show", show.Bytes())

	d, _ := testArtifacts()
	d.Versions = append(d.Versions, &structs.ArtifactVersion{Version: 4, Digest: strings.Repeat("1", 64), Size: 1 << 20, Files: 1798,
		Description: "output of job 9, plugin split-train-val 1.1.0", CreateTime: ago(time.Minute), CreatedBy: "alice",
		Lineage: &structs.Lineage{JobID: "9", JobName: "split-train-val", ParentVersion: 1,
			Datasets: []structs.ArtifactRef{{Name: "digits", Version: "1"}},
			Plugin: &structs.PluginRef{Name: "split-train-val", Version: "2", Release: "1.1.0", Kind: structs.PluginDataset,
				Variables: map[string]string{"seed": "1", "fraction": "0.5"}}}})
	var ds bytes.Buffer
	if err := formatArtifact(&ds, d, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "dataset_show_lineage", ds.Bytes())

	n := testNode()
	n.Drain, n.Eligible = true, false
	n.DrainReason = "prolog failed: exit status 1: GPU 2 fails its health check"
	n.HookFailure = &structs.HookReport{Hook: structs.HookProlog, Path: "/etc/nai/prolog.sh", AllocID: "12.1", JobID: "12", ExitCode: intp(1),
		Message: "exit status 1: GPU 2 fails its health check", Output: "checking 4 GPUs\nGPU 2 fails its health check\n",
		Duration: structs.Duration(1500 * time.Millisecond), Time: ago(3 * time.Minute)}
	var ns bytes.Buffer
	if err := formatNodeStatus(&ns, n, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "node_status_hook_failure", ns.Bytes())
}
