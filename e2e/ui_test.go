package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// uiJob trains for show: it writes 12 metric lines and a log line per
// step, a line on stderr, then waits for the test to create "go" before it
// writes 3 more steps and a marker line, and for "release" before it
// ends. The test thereby sees lines and points arrive while it runs.
func uiJob(dir string) string {
	script := `i=1
while [ $i -le 12 ]; do
  echo "{\"step\": $i, \"loss\": $((1000 / i)), \"acc\": $((i * 8))}" >> "$NAI_METRICS_FILE"
  echo "training step $i"
  i=$((i + 1))
done
echo "warning: this line is on stderr" >&2
while [ ! -e ` + dir + `/go ]; do sleep 0.05; done
while [ $i -le 15 ]; do
  echo "{\"step\": $i, \"loss\": $((1000 / i)), \"acc\": $((i * 8))}" >> "$NAI_METRICS_FILE"
  i=$((i + 1))
done
echo "live line written after the page opened"
while [ ! -e ` + dir + `/release ]; do sleep 0.05; done
echo done`
	return fmt.Sprintf(`job "ui-train" {
  resources {
    cpu    = 0.5
    memory = "128MiB"
    gpu { count = 2 }
  }
  task {
    command = "/bin/sh"
    args    = ["-c", %q]
  }
}
`, script)
}

// TestUIJobLifecycle opens the UI on a dev agent: the running job in the
// queue, its page with the log growing and a loss chart with a point per
// line the job wrote, its GPUs coloured on the nodes page; and the clear
// page of a job that does not exist.
func TestUIJobLifecycle(t *testing.T) {
	chromium(t)
	a := startAgent(t, t.TempDir(), 4)
	dir := t.TempDir()
	id := a.submit(dir, "ui-train", uiJob(dir))
	waitFor(t, 60*time.Second, "job "+id+" runs", func() bool {
		j, _, err := a.api().Job(context.Background(), id)
		return err == nil && j.Status == structs.JobRunning
	})
	// A job that waits for GPUs, behind it.
	waiting := a.submit(dir, "ui-wait", `job "ui-wait" {
  resources {
    cpu    = 0.5
    memory = "128MiB"
    gpu { count = 4 }
  }
  task { command = "/bin/true" }
}
`)
	b := newBrowser(t)

	// The queue shows the running job, and why the other one waits.
	b.open(a, "#/queue")
	row := fmt.Sprintf(`tr[data-job-id="%s"][data-status="running"]`, id)
	b.run("see the running job in the queue", chromedp.WaitVisible(chromedp.CSS(row)))
	b.waitJS("the waiting job says why", fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-job-id="%s"][data-status="pending"] td.why'); return r && r.textContent.length > 0 && r.textContent !== 'waiting for the scheduler'; })()`, waiting), 30*time.Second)
	var cells string
	b.eval(`document.querySelector('`+row+`').innerText`, &cells)
	if !strings.Contains(cells, "ui-train") || !strings.Contains(cells, "e2e-node") {
		t.Errorf("queue row of job %s = %q, want the name and the node", id, cells)
	}
	b.shot("queue")

	// Its page: the tail of the log (stderr marked) and a chart of 12 points.
	b.run("open the job from the queue", chromedp.Click(chromedp.CSS(row+` a[href^="#/jobs/"]`)))
	b.waitJS("the log shows step 12", `[...document.querySelectorAll('#log-lines .ll.stdout')].some(e => e.textContent === 'training step 12')`, 30*time.Second)
	b.waitJS("stderr is marked", `[...document.querySelectorAll('#log-lines .ll.stderr')].some(e => e.textContent.includes('on stderr'))`, 30*time.Second)
	b.waitJS("a loss chart of 12 points", `(document.querySelector('[data-metric="loss"]') || {dataset: {}}).dataset.points === '12'`, 30*time.Second)

	// While it runs, a new line and new points arrive without a reload.
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b.waitJS("the live line appears", `[...document.querySelectorAll('#log-lines .ll')].some(e => e.textContent === 'live line written after the page opened')`, 30*time.Second)
	b.waitJS("the loss chart grows to 15 points", `document.querySelector('[data-metric="loss"]').dataset.points === '15'`, 30*time.Second)
	if j := a.job(id); j.Status != structs.JobRunning {
		t.Fatalf("job %s is %s while the page follows it, want running", id, j.Status)
	}
	// The terminal draws the same curve from the same live history.
	if out := a.mustNai("job", "metrics", id, "-plot", "loss"); !strings.Contains(out, "15 points, last 66") ||
		!strings.ContainsFunc(out, func(r rune) bool { return r > 0x2800 && r <= 0x28ff }) {
		t.Errorf("nai job metrics -plot loss:\n%s", out)
	}
	var canvases int
	b.eval(`document.querySelectorAll('#job-charts figure.chart canvas').length`, &canvases)
	if canvases < 2 {
		t.Errorf("job page draws %d chart canvases, want one per key (loss, acc)", canvases)
	}
	b.waitJS("the job file is shown", `document.querySelector('#job-hcl').textContent.includes('job "ui-train"')`, 10*time.Second)
	b.shot("job")

	// The nodes page colours the two GPUs the job holds.
	b.open(a, "#/nodes")
	held := fmt.Sprintf(`.gpu.held[data-job-id="%s"]`, id)
	b.waitJS("the job's GPUs are coloured as held", `document.querySelectorAll('`+held+`').length === 2`, 30*time.Second)
	var free int
	b.eval(`document.querySelectorAll('.gpu.free').length`, &free)
	if free != 2 {
		t.Errorf("nodes page shows %d free GPUs, want 2", free)
	}
	var color string
	b.eval(`getComputedStyle(document.querySelector('`+held+`')).borderTopColor`, &color)
	var freeColor string
	b.eval(`getComputedStyle(document.querySelector('.gpu.free')).borderTopColor`, &freeColor)
	if color == freeColor {
		t.Errorf("a held GPU has the free GPUs' colour %s", color)
	}
	b.shot("nodes")

	// The job ends; its page says so and keeps the whole history.
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a.waitJob(id, 60*time.Second)
	b.open(a, "#/jobs/"+id)
	b.waitJS("the finished job's page", `document.querySelector('#job-head .badge') && document.querySelector('#job-head .badge').textContent === 'complete'`, 30*time.Second)
	b.waitJS("the final log's last line", `[...document.querySelectorAll('#log-lines .ll')].some(e => e.textContent === 'done')`, 30*time.Second)
	b.waitJS("the chart from the kept history", `(document.querySelector('[data-metric="loss"]') || {dataset: {}}).dataset.points === '15'`, 30*time.Second)
	b.waitJS("the state history", `document.querySelectorAll('#job-timeline li').length >= 4`, 10*time.Second)

	// A job that does not exist gets a page that says so.
	b.open(a, "#/jobs/99999")
	b.run("see the not-found page", chromedp.WaitVisible(chromedp.CSS("#job-not-found")))
	var msg string
	b.eval(`document.querySelector('#job-not-found').innerText`, &msg)
	if !strings.Contains(msg, "Job 99999 does not exist") {
		t.Errorf("not-found page says %q", msg)
	}
	b.shot("job-not-found")

	// The other pages render (and raise no script error).
	for _, p := range []struct{ frag, sel string }{
		{"#/datasets", "#datasets-table"}, {"#/models", "#models-table"}, {"#/lineage", "#lineage"},
		{"#/usage", "#share-table"}, {"#/users", "main h1"},
	} {
		b.open(a, p.frag)
		b.run("open "+p.frag, chromedp.WaitVisible(chromedp.CSS(p.sel)))
	}
	b.shot("usage")
}

// TestUIACL: with ACLs on, no token shows the login page; a user's token
// shows that user's jobs and nobody else's.
func TestUIACL(t *testing.T) {
	chromium(t)
	a, mgmt := startACLAgent(t, 2)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, u := range []string{"alice", "bob"} {
		if _, err := mgmt.CreateUser(ctx, &structs.User{Name: u}); err != nil {
			t.Fatalf("create user %s: %v", u, err)
		}
		tok, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{User: u, Name: u + "-ui"})
		if err != nil {
			t.Fatalf("token for %s: %v", u, err)
		}
		tokens[u] = tok.SecretID
	}
	// Jobs that wait (begin in an hour), one per user.
	ids := map[string]string{}
	for _, u := range []string{"alice", "bob"} {
		ids[u] = registerWaiting(t, a.api().WithToken(tokens[u]), u+"-job", 1)[0]
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = mgmt.Cancel(context.Background(), id)
		}
	})

	b := newBrowser(t)
	b.open(a, "#/queue")
	b.run("see the login page", chromedp.WaitVisible(chromedp.CSS("#login #token")))
	b.shot("login")

	b.run("log in as alice",
		chromedp.SendKeys(chromedp.CSS("#token"), tokens["alice"]),
		chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-job-id="%s"]`, ids["alice"]))))
	var rows []string
	b.eval(`[...document.querySelectorAll('#queue-table tbody tr')].map(r => r.dataset.jobId)`, &rows)
	if len(rows) != 1 || rows[0] != ids["alice"] {
		t.Errorf("alice's queue shows jobs %v, want only %s", rows, ids["alice"])
	}
	var who string
	b.eval(`document.querySelector('#who').innerText`, &who)
	if !strings.Contains(who, "alice") {
		t.Errorf("header names %q, want alice", who)
	}
	// The token is in sessionStorage, never in the address.
	var loc, stored string
	b.eval(`location.href`, &loc)
	b.eval(`sessionStorage.getItem('nai.token')`, &stored)
	if strings.Contains(loc, tokens["alice"]) || stored != tokens["alice"] {
		t.Errorf("token placement: address %q, sessionStorage has it: %v", loc, stored == tokens["alice"])
	}
	b.shot("queue-alice")

	// She sees herself and her groups, not the others.
	b.open(a, "#/users")
	b.waitJS("alice's users page", `document.querySelectorAll('#users-table tbody tr').length === 1 && document.querySelector('#users-table').innerText.includes('alice')`, 30*time.Second)
	b.open(a, "#/groups")
	b.waitJS("alice's groups page", `document.querySelector('#groups-table') !== null && !document.querySelector('#groups-table').innerText.includes('bob')`, 30*time.Second)

	// Bob's job is not hers to see.
	b.open(a, "#/jobs/"+ids["bob"])
	b.run("bob's job is hidden", chromedp.WaitVisible(chromedp.CSS("#job-not-found")))

	// Logging out forgets the token.
	b.open(a, "#/queue")
	b.run("log out", chromedp.WaitVisible(chromedp.CSS("#logout")), chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#login #token")))
}

// registerWaiting submits n jobs that begin in an hour (so they stay
// pending) through the API and returns their ids.
func registerWaiting(t *testing.T, c *api.Client, name string, n int) []string {
	t.Helper()
	begin := time.Now().Add(time.Hour).UTC()
	jobs := make([]*structs.Job, n)
	for i := range jobs {
		jobs[i] = &structs.Job{
			Name:      name,
			BeginTime: begin,
			Resources: structs.Resources{CPU: 0.1, MemoryBytes: 64 << 20, GPU: structs.GPURequest{Count: 1}},
			Task:      structs.Task{Command: "/bin/true"},
		}
	}
	resp, err := c.Register(context.Background(), jobs...)
	if err != nil {
		t.Fatalf("register %d jobs: %v", n, err)
	}
	return resp.JobIDs
}

// TestUIQueueTenThousand: the queue page with 10,000 pending jobs paints
// its first page in under a second (it asks the server for one page).
func TestUIQueueTenThousand(t *testing.T) {
	chromium(t)
	a := startAgent(t, t.TempDir(), 2)
	ids := registerWaiting(t, a.api(), "many", 10000)
	t.Cleanup(func() { _ = a.api().Cancel(context.Background(), ids[0]) })
	b := newBrowser(t)
	// The best of three loads: the first also pays for the browser's cold
	// caches, and on this shared machine (agents under the race detector
	// in make test) any one load can wait for a core.
	var best float64
	var rows int
	var summary string
	for try := 0; try < 3; try++ {
		if try == 0 {
			b.open(a, "#/queue?state=pending")
		} else {
			b.run("reload", chromedp.Reload())
		}
		b.waitJS("the first page is painted", `document.body.dataset.queuePainted !== undefined`, 60*time.Second)
		var paintMS float64
		b.eval(`Number(document.body.dataset.queuePainted)`, &paintMS)
		b.eval(`document.querySelectorAll('#queue-table tbody tr').length`, &rows)
		b.eval(`document.querySelector('#queue-summary').innerText`, &summary)
		t.Logf("load %d: first paint of 10,000 pending jobs %.0f ms after navigation (%d rows; %q)", try+1, paintMS, rows, summary)
		if rows != 100 || !strings.Contains(summary, "10,000") {
			t.Errorf("queue page shows %d rows and %q, want a page of 100 of 10,000", rows, summary)
		}
		if try == 0 || paintMS < best {
			best = paintMS
		}
		if best < 1000 {
			break
		}
	}
	if best >= 1000 {
		t.Errorf("first paint took %.0f ms at best of three loads, want under 1 s", best)
	}
	b.shot("queue-10k")
	// The next page is another request of 100.
	b.run("next page", chromedp.Click(chromedp.CSS("#next")))
	b.waitJS("page two", `document.querySelector('#queue-summary').innerText.startsWith('Jobs 101–200')`, 30*time.Second)
}

// TestUILargeLog: a job that wrote 100 MB to stdout; its page loads only
// the tail, stays small, and fetches earlier parts when scrolled up.
func TestUILargeLog(t *testing.T) {
	chromium(t)
	a := startAgent(t, t.TempDir(), 1)
	dir := t.TempDir()
	// 100 MB of numbered lines, then a last line.
	id := a.submit(dir, "big-log", `job "big-log" {
  resources {
    cpu    = 1
    memory = "256MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "seq -f 'log line %012g of a long log, padded to about one hundred bytes ....................' 1 1000000; echo LAST LINE"]
  }
}
`)
	j := a.waitJob(id, 3*time.Minute)
	if j.Status != structs.JobComplete {
		t.Fatalf("job %s %s (%s)", id, j.Status, j.ExitReason)
	}
	b := newBrowser(t)
	b.open(a, "#/jobs/"+id)
	b.waitJS("the last line is shown", `[...document.querySelectorAll('#log-lines .ll')].slice(-2).some(e => e.textContent === 'LAST LINE')`, 60*time.Second)
	var lines int
	b.eval(`document.querySelectorAll('#log-lines .ll').length`, &lines)
	if lines < 100 || lines > 2000 {
		t.Errorf("the page holds %d log lines of a 100 MB log, want the tail only (64 KiB)", lines)
	}
	var first string
	b.eval(`document.querySelector('#log-lines .ll').textContent`, &first)
	b.eval(`(() => { const l = document.querySelector('#log'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); return true; })()`, nil)
	b.waitJS("earlier lines are fetched", fmt.Sprintf(`document.querySelectorAll('#log-lines .ll').length > %d`, lines), 30*time.Second)
	var after int
	var newFirst string
	b.eval(`document.querySelectorAll('#log-lines .ll').length`, &after)
	b.eval(`document.querySelector('#log-lines .ll').textContent`, &newFirst)
	if newFirst >= first || !strings.HasPrefix(newFirst, "log line ") {
		t.Errorf("after scrolling up the first line is %q, was %q: want an earlier whole line", newFirst, first)
	}
	// Lines join exactly: the line before the old first one is there.
	var joined bool
	b.eval(fmt.Sprintf(`(() => { const ls = [...document.querySelectorAll('#log-lines .ll')].map(e => e.textContent); const i = ls.indexOf(%s); return i > 0 && ls[i-1] < ls[i] && ls.slice(0, i).every(l => l.length === ls[i].length); })()`, jsString(first)), &joined)
	if !joined {
		t.Errorf("the fetched chunk does not join the tail at line %q", first)
	}
	t.Logf("100 MB log: %d lines on the page at first, %d after one scroll up", lines, after)
	b.shot("job-big-log")
}

// TestUISweep: a sweep's page shows its members side by side with their
// final metrics, the best one marked.
func TestUISweep(t *testing.T) {
	chromium(t)
	a := startAgent(t, t.TempDir(), 1)
	dir := t.TempDir()
	first := a.submit(dir, "sweep", `job "sw" {
  sweep {
    mode   = "grid"
    values = { lr = [1, 2, 5] }
  }
  resources {
    cpu    = 0.2
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "echo \"{\\\"step\\\": 1, \\\"loss\\\": $((10 / ${sweep.lr})), \\\"acc\\\": ${sweep.lr}}\" >> $NAI_METRICS_FILE"]
  }
}
`)
	members, err := a.api().ArrayJobs(context.Background(), first)
	if err != nil || len(members) != 3 {
		t.Fatalf("sweep %s: %d members, %v", first, len(members), err)
	}
	var best string
	for _, m := range members {
		a.waitJob(m.ID, 60*time.Second)
		if m.SweepValues["lr"] == "5" {
			best = m.ID
		}
	}
	b := newBrowser(t)
	b.open(a, "#/jobs/"+first)
	b.waitJS("three members with their metrics", `document.querySelectorAll('#sweep-table tbody tr').length === 3 && document.querySelectorAll('#sweep-table td.best').length === 2`, 30*time.Second)
	var bestRow string
	b.eval(`document.querySelector('#sweep-table tr.best').dataset.jobId`, &bestRow)
	if bestRow != best {
		t.Errorf("the sweep marks job %s best, want %s (lowest loss)", bestRow, best)
	}
	// Members are named as every command names them: A_N beside the id.
	var label, head string
	b.eval(`document.querySelector('#sweep-table tr[data-job-id="`+members[1].ID+`"] a').textContent`, &label)
	b.eval(`document.querySelector('h1').textContent`, &head)
	if want := members[1].ID + " (" + members[1].ArrayRef() + ")"; label != want {
		t.Errorf("the sweep names member %s %q, want %q", members[1].ID, label, want)
	}
	if want := "Job " + first + " (" + members[0].ArrayRef() + ")"; !strings.Contains(head, want) {
		t.Errorf("the job page's heading is %q, want it to say %q", head, want)
	}
	b.shot("sweep")
}

// TestUILineage: a dataset version read by a job that registered a model
// version shows as dataset -> job -> model on the lineage page and on the
// dataset's and the model's pages.
func TestUILineage(t *testing.T) {
	chromium(t)
	a := startAgent(t, t.TempDir(), 1)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	writeFile(t, data, "train.txt", "0 1 2 3\n")
	a.mustNai("dataset", "push", data, "-name", "digits", "-description", "four digits")
	id := a.submit(work, "train", `job "train" {
  dataset "digits" { version = "latest" }
  resources {
    cpu    = 0.2
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "cp $NAI_DATASET_DIR/train.txt $NAI_OUTPUT_DIR/w.bin; echo '{\"step\": 1, \"loss\": 0.5}' >> $NAI_METRICS_FILE"]
  }
  output { model = "digits-net" }
}
`)
	if j := a.waitJob(id, 60*time.Second); j.Status != structs.JobComplete {
		t.Fatalf("job %s %s", id, j.Status)
	}
	b := newBrowser(t)
	b.open(a, "#/lineage")
	// Three boxes joined by two edges: digits:1 -> job -> digits-net:1.
	b.waitJS("the lineage graph", `document.querySelectorAll('#lineage .gnode').length === 3 && document.querySelectorAll('#lineage path.edge').length === 2`, 30*time.Second)
	var labels []string
	b.eval(`[...document.querySelectorAll('#lineage .gnode text')].map(t => t.textContent)`, &labels)
	want := map[string]bool{"digits:1": true, "job " + id + " train": true, "digits-net:1": true}
	for _, l := range labels {
		delete(want, l)
	}
	if len(want) != 0 {
		t.Errorf("lineage boxes %v lack %v", labels, want)
	}
	b.shot("lineage")
	b.open(a, "#/models/digits-net")
	b.waitJS("the model's versions", `document.querySelectorAll('#versions tbody tr').length === 1 && document.querySelector('#versions').innerText.includes('digits:1')`, 30*time.Second)
	b.waitJS("the model's lineage", `document.querySelectorAll('#lineage .gnode').length === 3`, 30*time.Second)
	b.shot("model")
	b.open(a, "#/datasets")
	b.waitJS("the dataset list", `document.querySelector('#datasets-table tr[data-name="digits"]') !== null`, 30*time.Second)
	b.open(a, "#/models/none-such")
	b.run("a model that does not exist", chromedp.WaitVisible(chromedp.CSS(".notfound")))
}

// TestUIMetricNotANumber: a job whose metric history holds values that are
// not finite numbers ("loss": "high", and 1e999, which JavaScript reads
// as Infinity) still gets its whole page. The loss chart takes the 2
// numbers of 4 lines, a text metric gets no chart, the latest-values
// table shows every key's last value (text as text), and the state
// history and the log are drawn, while the job runs and after. The finished
// job's log shows stdout and stderr apart, on tabs: the servers keep the
// two streams in separate files without times, so a finished log cannot
// be put back in time order, and one stream is never shown as a block
// above the other as if it came first.
func TestUIMetricNotANumber(t *testing.T) {
	chromium(t)
	a := startAgent(t, t.TempDir(), 1)
	dir := t.TempDir()
	id := a.submit(dir, "textmetric", `job "text-metric" {
  resources {
    cpu    = 0.2
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["-c", <<-EOS
      echo '{"step": 1, "loss": 0.5, "phase": "warmup"}' >> $NAI_METRICS_FILE
      echo 'out one'
      echo 'err one' >&2
      echo '{"step": 2, "loss": "high"}' >> $NAI_METRICS_FILE
      echo 'out two'
      echo 'err two' >&2
      echo '{"step": 3, "loss": 1e999}' >> $NAI_METRICS_FILE
      echo '{"step": 4, "loss": 0.1, "phase": "train"}' >> $NAI_METRICS_FILE
      while [ ! -e `+dir+`/release ]; do sleep 0.05; done
    EOS
    ]
  }
}
`)
	b := newBrowser(t)
	// While it runs: the history comes from the node, the log is followed.
	b.open(a, "#/jobs/"+id)
	b.waitJS("a loss chart of the 2 numbers", `(document.querySelector('[data-metric="loss"]') || {dataset: {}}).dataset.points === '2'`, 30*time.Second)
	b.waitJS("the state history", `document.querySelectorAll('#job-timeline li').length >= 3`, 30*time.Second)
	b.waitJS("the followed log", `[...document.querySelectorAll('#log-lines .ll.stdout')].some(e => e.textContent === 'out two')`, 30*time.Second)
	writeFile(t, dir, "release", "")
	if j := a.waitJob(id, 60*time.Second); j.Status != structs.JobComplete {
		t.Fatalf("job %s ended %s (%s), want complete", id, j.Status, j.Reason)
	}
	b.open(a, "#/jobs/"+id+"?again") // a fresh page of the finished job
	b.waitJS("the finished job's chart", `(document.querySelector('[data-metric="loss"]') || {dataset: {}}).dataset.points === '2'`, 30*time.Second)
	b.waitJS("the finished job's state history", `document.querySelectorAll('#job-timeline li').length >= 4`, 30*time.Second)
	b.waitJS("the finished job's log", `[...document.querySelectorAll('#log-lines .ll.stdout')].some(e => e.textContent === 'out two')`, 30*time.Second)
	var latest map[string]string
	b.eval(`Object.fromEntries([...document.querySelectorAll('#metrics-latest tbody tr')].map(r => [r.dataset.metric, r.querySelector('td.value').textContent]))`, &latest)
	if latest["loss"] != "0.1" || latest["phase"] != "train" {
		t.Errorf("latest values %v, want loss 0.1 and phase train (text)", latest)
	}
	if _, ok := latest["step"]; ok {
		t.Errorf("latest values list step, the x axis: %v", latest)
	}
	var textCharts int
	b.eval(`document.querySelectorAll('figure[data-metric="phase"]').length`, &textCharts)
	if textCharts != 0 {
		t.Errorf("a chart is drawn for the text metric phase")
	}
	// A finished job's log opens on stdout; stderr is its own tab.
	var shown []string
	b.eval(`[...document.querySelectorAll('#log-lines .ll')].filter(e => e.offsetParent !== null).map(e => e.textContent)`, &shown)
	if strings.Join(shown, "|") != "out one|out two" {
		t.Errorf("the finished log shows %q, want stdout alone", shown)
	}
	b.run("open the stderr tab", chromedp.Click(chromedp.CSS(`#log-tab-stderr`)))
	b.eval(`[...document.querySelectorAll('#log-lines .ll')].filter(e => e.offsetParent !== null).map(e => e.textContent)`, &shown)
	if strings.Join(shown, "|") != "err one|err two" {
		t.Errorf("the stderr tab shows %q, want the two stderr lines", shown)
	}
	var note string
	b.eval(`document.querySelector('#log-note').textContent`, &note)
	if !strings.Contains(note, "time order") {
		t.Errorf("the log does not say why the streams are apart: %q", note)
	}
	b.shot("job-text-metric")
}

// TestUIServices: the services page lists a served model with its
// replicas, the address to call it at, and, for one that never answers,
// why it is not healthy.
func TestUIServices(t *testing.T) {
	needPython(t, "python3")
	a := startAgent(t, t.TempDir(), 1, "-service-ports", servicePorts(t, 2))
	work := t.TempDir()
	tiny := filepath.Join(work, "tiny")
	writeFile(t, tiny, "serve.py", tinyServe)
	a.mustNai("model", "push", tiny, "-name", "tiny")
	a.mustNai("serve", "tiny", "-cpu", "0.1", "-memory", "64MiB", "-public", "-wait", "1m")
	a.submit(work, "mute", `job "mute" {
  type = "service"
  model "tiny" {}
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    script = "cd $NAI_MODEL_DIR && MUTE=1 exec python3 serve.py"
  }
  service {
    health {
      interval = "500ms"
      timeout  = "200ms"
      grace    = "30s"
    }
  }
}`)
	waitFor(t, time.Minute, "the mute service's check error", func() bool {
		s := a.service("mute")
		return len(s.Replicas) == 1 && strings.Contains(s.Replicas[0].HealthError, "no answer within 200ms")
	})
	b := newBrowser(t)
	b.open(a, "#/services")
	b.waitJS("both services, tiny serving", `document.querySelector('section[data-service="tiny"]')?.dataset.serving === '1' && !!document.querySelector('section[data-service="mute"]')`, 30*time.Second)
	var tinyText, muteText string
	b.eval(`document.querySelector('section[data-service="tiny"]').textContent`, &tinyText)
	b.eval(`document.querySelector('section[data-service="mute"]').textContent`, &muteText)
	for _, want := range []string{"1 of 1 replica of version 1 healthy", "/v1/services/tiny/", "public", "model tiny:1"} {
		if !strings.Contains(tinyText, want) {
			t.Errorf("the tiny service's block lacks %q:\n%s", want, tinyText)
		}
	}
	for _, want := range []string{"0 of 1 replica of version 1 healthy", "unhealthy: GET /health: no answer within 200ms"} {
		if !strings.Contains(muteText, want) {
			t.Errorf("the mute service's block lacks %q:\n%s", want, muteText)
		}
	}
	// Without ACLs no token is needed, and the page does not ask for one.
	if strings.Contains(muteText, "with a token") {
		t.Errorf("the mute service's block asks for a token on an agent without ACLs:\n%s", muteText)
	}
	b.shot("services")
}
