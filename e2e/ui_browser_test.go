package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive the web UI (package ui) in headless Chromium,
// from Go with chromedp, against dev agents started like the other e2e
// tests. Each page they open is saved as a screenshot in the test's
// artifact directory (go test -artifacts keeps them); with
// NAI_SCREENSHOTS=DIR they are written there too (make screenshots).

var (
	chromiumOnce sync.Once
	chromiumBin  string
	chromiumWhy  string
)

// chromium finds Debian's chromium, installing it when it is missing and
// the test runs as root; otherwise the test is skipped with the reason.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumOnce.Do(func() {
		find := func() string {
			for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
				if p, err := exec.LookPath(n); err == nil {
					return p
				}
			}
			return ""
		}
		if chromiumBin = find(); chromiumBin != "" {
			return
		}
		if os.Geteuid() != 0 {
			chromiumWhy = "chromium is not installed and the test is not root, so it cannot install it (apt-get install chromium)"
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil {
			chromiumWhy = "chromium is not installed and there is no apt-get to install it"
			return
		}
		install := func() ([]byte, error) {
			cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "chromium", "fonts-dejavu-core")
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			return cmd.CombinedOutput()
		}
		out, err := install()
		if err != nil {
			// The package lists may be missing or stale.
			_ = exec.Command("apt-get", "update").Run()
			out, err = install()
		}
		if err != nil {
			chromiumWhy = fmt.Sprintf("chromium is not installed and apt-get install chromium failed: %v\n%s", err, lastLines(string(out), 5))
			return
		}
		if chromiumBin = find(); chromiumBin == "" {
			chromiumWhy = "apt-get installed chromium but no chromium binary is on PATH"
		}
	})
	if chromiumBin == "" {
		t.Skip(chromiumWhy)
	}
	return chromiumBin
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// browser is one headless Chromium with a fresh profile; uncaught
// JavaScript exceptions on its pages fail the test.
type browser struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	exc []string
}

// actionTimeout bounds one step of a browser test.
const actionTimeout = 2 * time.Minute

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromium(t)
	// The flags this machine needs: no sandbox (root), no GPU, and nothing
	// that reaches for the network (it is closed).
	opts := func() []chromedp.ExecAllocatorOption {
		return []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(bin),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.UserDataDir(t.TempDir()),
			chromedp.WindowSize(1280, 1000),
		}
	}
	// Chromium has been seen to exit at start, before it listens, once in
	// a CI run of the whole e2e package under -race (it printed nothing
	// but its crash reporter's warnings); a browser that fails to start is
	// not what these tests test, so a start is tried three times, each
	// with a fresh profile, and each failure is logged.
	var (
		ctx       context.Context
		cancelCtx context.CancelFunc
	)
	for attempt := 1; ; attempt++ {
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts()...)
		c, cancelC := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
		// The first run starts the browser, which lives as long as c.
		err := chromedp.Do(c)
		if err == nil {
			t.Cleanup(func() { cancelC(); cancelAlloc() })
			ctx, cancelCtx = c, cancelC
			break
		}
		cancelC()
		cancelAlloc()
		if attempt == 3 || !strings.Contains(err.Error(), "failed to start") {
			t.Fatalf("start chromium %s (attempt %d): %v", bin, attempt, err)
		}
		t.Logf("start chromium %s (attempt %d), trying again: %v", bin, attempt, err)
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	b := &browser{t: t, ctx: ctx}
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() {
				b.mu.Lock()
				b.exc = append(b.exc, m.Text)
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelCtx()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.exc {
			t.Errorf("uncaught javascript exception on a page: %s", e)
		}
	})
	return b
}

// run runs chromedp steps, failing the test with what was being done and
// what the page said.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ''`))
	b.shot(strings.NewReplacer(" ", "-", "'", "", "/", "-").Replace(what) + "-failed")
	b.t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
}

// waitJS waits until a JavaScript expression is true.
func (b *browser) waitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.fail("wait until "+what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value (as JSON)
// into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify(("+expr+"))"))
	if err != nil {
		b.fail("evaluate "+expr, err)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(v), out); err != nil {
			b.t.Fatalf("evaluate %s: decode %q: %v", expr, v, err)
		}
	}
}

// readmeShots are the screenshots the README shows (docs/screenshots).
var readmeShots = map[string]bool{"queue": true, "job": true, "nodes": true, "login": true}

// shot saves a screenshot of the whole page as NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dirs := []string{b.t.ArtifactDir()}
	if d := os.Getenv("NAI_SCREENSHOTS"); d != "" && readmeShots[name] {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.t.Logf("screenshot dir: %v", err)
			continue
		}
		p := filepath.Join(d, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Logf("write screenshot: %v", err)
			continue
		}
		b.t.Logf("screenshot: %s", p)
	}
}

// open loads a UI address of the agent in a fresh document.
func (b *browser) open(a *agent, frag string) {
	b.t.Helper()
	b.run("open "+frag, chromedp.Navigate(a.addr+"/ui/"+frag))
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}
