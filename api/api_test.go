package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/server"
	"github.com/nai-project/nai/structs"
)

// The api package against a real server: server.New with a temporary data
// dir, bootstrapped as a one-server cluster, its routes on a loopback
// listener.

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startServer starts a server and returns its API's URL.
func startServer(t *testing.T, aclOn bool) string {
	t.Helper()
	u, _ := startServerTLS(t, aclOn, false)
	return u
}

// startServerTLS starts a server, with TLS when withTLS, and returns its
// API's URL and the TLS configuration a client of it needs.
func startServerTLS(t *testing.T, aclOn, withTLS bool) (string, *tls.Config) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	s, err := server.New(server.Config{
		DataDir: t.TempDir(), NodeName: "test", Bootstrap: true, Logger: logger,
		SchedulerInterval: time.Second, ACL: server.ACLConfig{Enabled: aclOn},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	hs := httptest.NewUnstartedServer(mux)
	var conf *tls.Config
	if withTLS {
		hs.StartTLS()
		conf = hs.Client().Transport.(*http.Transport).TLSClientConfig
	} else {
		hs.Start()
	}
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		if err := s.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return hs.URL, conf
}

// newClient makes a client of addr that ignores the environment's token.
func newClient(t *testing.T, addr, token string) *api.Client {
	t.Helper()
	t.Setenv("NAI_TOKEN", "")
	t.Setenv("NAI_TOKEN_FILE", t.TempDir()+"/none")
	c, err := api.New(api.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deadAddr is an address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	return addr
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestJobs(t *testing.T) {
	c := newClient(t, startServer(t, false), "")
	ctx := context.Background()
	resp, err := c.Register(ctx, builders.Job("train").GPUs(2).TimeLimit(time.Hour).Build())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.JobIDs) != 1 {
		t.Fatalf("register answered %+v", resp)
	}
	id := resp.JobIDs[0]
	j, idx, err := c.Job(ctx, id)
	if err != nil || j.Name != "train" || j.Status != structs.JobPending || j.Resources.GPU.Count != 2 || idx == 0 {
		t.Fatalf("Job = %+v, index %d, %v", j, idx, err)
	}
	// No node: the job waits, and says why.
	plan, err := c.PlanJobs(ctx, builders.Job("probe").GPUs(2).Build())
	if err != nil || len(plan.Jobs) != 1 || plan.Jobs[0].StartsNow() {
		t.Errorf("plan on an empty cluster = %+v, %v; want one result that cannot start now", plan, err)
	}
	for name, list := range map[string]func(context.Context, bool) ([]*structs.Job, error){"Jobs": c.Jobs, "Queue": c.Queue} {
		jobs, err := list(ctx, true)
		if err != nil || len(jobs) != 1 || jobs[0].ID != id {
			t.Errorf("%s = %v, %v; want job %s", name, jobs, err, id)
		}
	}

	// A blocking query answers when the job changes (the scheduler may
	// change it first, writing why it waits): follow it to the cancel.
	done := make(chan *structs.Job, 1)
	go func() {
		for at := idx; ; {
			j, next, err := c.WaitJob(ctx, id, at, 30*time.Second)
			if err != nil {
				t.Errorf("WaitJob: %v", err)
				done <- nil
				return
			}
			if j.Status == structs.JobCancelled {
				done <- j
				return
			}
			if next <= at {
				t.Errorf("WaitJob answered index %d, not past %d, with the job unchanged", next, at)
				done <- nil
				return
			}
			at = next
		}
	}()
	if err := c.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case j := <-done:
		if j == nil {
			t.Fatal("WaitJob failed")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WaitJob did not answer after the job was cancelled")
	}

	// Errors come back as the structs sentinels, with the server's words.
	if _, _, err := c.Job(ctx, "404"); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("unknown job: %v, want not found", err)
	}
	_, err = c.Register(ctx, builders.Job("bad name!").Build())
	if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), "job name") {
		t.Errorf("invalid job: %v, want invalid naming the job name", err)
	}
}

func TestBlobsAndResumableUploads(t *testing.T) {
	addr := startServer(t, false)
	c := newClient(t, addr, "")
	ctx := context.Background()

	body := []byte("a job's code")
	info, err := c.UploadBlob(ctx, bytes.NewReader(body))
	if err != nil || info.Digest != sha(body) || info.Size != int64(len(body)) {
		t.Fatalf("UploadBlob = %+v, %v", info, err)
	}
	if ok, err := c.HasBlob(ctx, info.Digest); !ok || err != nil {
		t.Errorf("HasBlob of an upload: %v, %v", ok, err)
	}
	if ok, err := c.HasBlob(ctx, sha([]byte("never sent"))); ok || err != nil {
		t.Errorf("HasBlob of unknown content: %v, %v; want false, nil", ok, err)
	}
	rc, err := c.Blob(ctx, info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, body) {
		t.Errorf("Blob read %q", got)
	}

	// A session by hand: a chunk out of order is refused, the offset
	// says where to go on, a wrong digest does not commit.
	content := bytes.Repeat([]byte("0123456789"), 3000)
	sess, err := c.StartUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if off, err := c.UploadChunk(ctx, sess.ID, 0, bytes.NewReader(content), 10000); err != nil || off != 10000 {
		t.Fatalf("first chunk: %d, %v", off, err)
	}
	if _, err := c.UploadChunk(ctx, sess.ID, 5000, bytes.NewReader(content[5000:]), 1000); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("chunk that does not follow on: %v, want conflict", err)
	}
	if off, err := c.UploadOffset(ctx, sess.ID); err != nil || off != 10000 {
		t.Errorf("offset = %d, %v; want 10000", off, err)
	}
	if _, err := c.CommitUpload(ctx, sess.ID, sha(content)); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("commit of a short upload: %v, want invalid", err)
	}
	if _, err := c.UploadChunk(ctx, sess.ID, 10000, bytes.NewReader(content[10000:]), int64(len(content)-10000)); err != nil {
		t.Fatal(err)
	}
	if info, err := c.CommitUpload(ctx, sess.ID, sha(content)); err != nil || info.Size != int64(len(content)) {
		t.Fatalf("commit: %+v, %v", info, err)
	}
	if _, err := c.UploadOffset(ctx, sess.ID); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("session after its commit: %v, want not found", err)
	}

	// UploadFile over a link that cuts the second chunk short: it asks
	// how far the server got and goes on from there.
	var patches atomic.Int32
	target, _ := url.Parse(addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && patches.Add(1) == 2 {
			half, _ := io.ReadAll(io.LimitReader(r.Body, r.ContentLength/2))
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(half)), int64(len(half))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)
	fc := newClient(t, flaky.URL, "")
	big := bytes.Repeat([]byte("weights "), 5000)
	info, err = fc.UploadFile(ctx, bytes.NewReader(big), int64(len(big)), sha(big), 8000, 2)
	if err != nil || info.Digest != sha(big) {
		t.Fatalf("UploadFile over a flaky link: %+v, %v", info, err)
	}
	if n := patches.Load(); n < 6 {
		t.Errorf("%d chunks sent; want the cut one sent again (at least 6 for 40000 bytes in 8000)", n)
	}
	rc, err = c.Blob(ctx, sha(big))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, big) {
		t.Errorf("blob after a resumed upload: %d bytes, want %d", len(got), len(big))
	}
	// Content the servers hold is not sent again.
	before := patches.Load()
	if _, err := fc.UploadFile(ctx, bytes.NewReader(big), int64(len(big)), sha(big), 8000, 2); err != nil {
		t.Fatal(err)
	}
	if patches.Load() != before {
		t.Error("UploadFile sent content the servers already hold")
	}
}

func TestArtifacts(t *testing.T) {
	c := newClient(t, startServer(t, false), "")
	ctx := context.Background()
	content := []byte("pretend this is a tar.gz of a dataset")
	if _, err := c.PushArtifact(ctx, structs.KindDataset, "digits", &structs.ArtifactPushRequest{Digest: sha(content)}); !errors.Is(err, structs.ErrInvalid) ||
		!strings.Contains(err.Error(), "was not uploaded") {
		t.Errorf("push of content never uploaded: %v", err)
	}
	if _, err := c.UploadBlob(ctx, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	resp, err := c.PushArtifact(ctx, structs.KindDataset, "digits", &structs.ArtifactPushRequest{Digest: sha(content), Description: "8x8 digits", User: "alice"})
	if err != nil || resp.Version != 1 {
		t.Fatalf("push = %+v, %v", resp, err)
	}
	list, err := c.Artifacts(ctx, structs.KindDataset)
	if err != nil || len(list) != 1 || list[0].Name != "digits" {
		t.Errorf("Artifacts = %+v, %v", list, err)
	}
	a, err := c.Artifact(ctx, structs.KindDataset, "digits")
	if err != nil || len(a.Versions) != 1 || a.Versions[0].Digest != sha(content) || a.Versions[0].Size != int64(len(content)) {
		t.Fatalf("Artifact = %+v, %v", a, err)
	}
	rc, err := c.ArtifactContent(ctx, structs.KindDataset, "digits", "latest")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Errorf("content of the latest version: %q", got)
	}
	if models, err := c.Artifacts(ctx, structs.KindModel); err != nil || len(models) != 0 {
		t.Errorf("models = %+v, %v; want none", models, err)
	}
	if err := c.DeleteArtifactVersion(ctx, structs.KindDataset, "digits", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ArtifactContent(ctx, structs.KindDataset, "digits", "1"); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("content of a deleted version: %v, want not found", err)
	}
}

// With ACLs on, the token decides: anonymous callers are refused, the
// bootstrap token manages users and tokens, a user sees and cancels only
// their own jobs, and a revoked token stops working.
func TestACLWithTokens(t *testing.T) {
	addr := startServer(t, true)
	ctx := context.Background()
	anon := newClient(t, addr, "")
	if _, err := anon.Jobs(ctx, true); !errors.Is(err, structs.ErrUnauthorized) {
		t.Errorf("anonymous list: %v, want unauthorized", err)
	}
	root, err := anon.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.ACLBootstrap(ctx); err == nil {
		t.Error("a second bootstrap succeeded")
	}
	mgmt := anon.WithToken(root.SecretID)
	if mgmt.Token() != root.SecretID || anon.Token() != "" {
		t.Error("WithToken changed the original client")
	}
	tokens := map[string]*api.Client{}
	for _, name := range []string{"bob", "carol"} {
		if _, err := mgmt.CreateUser(ctx, &structs.User{Name: name}); err != nil {
			t.Fatal(err)
		}
		tok, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{User: name, Name: name + "'s laptop"})
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = newClient(t, addr, tok.SecretID)
	}
	bob, carol := tokens["bob"], tokens["carol"]
	who, err := bob.TokenSelf(ctx)
	if err != nil || who.User == nil || who.User.Name != "bob" {
		t.Fatalf("bob's whoami = %+v, %v", who, err)
	}
	if _, err := bob.Register(ctx, builders.Job("as-carol").User("carol").Build()); !errors.Is(err, structs.ErrForbidden) {
		t.Errorf("bob submitting as carol: %v, want forbidden", err)
	}
	resp, err := bob.Register(ctx, builders.Job("bobs-run").User("").Build())
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	if j, _, err := bob.Job(ctx, id); err != nil || j.User != "bob" {
		t.Errorf("bob's job: %+v, %v; want it owned by bob, from his token", j, err)
	}
	if jobs, err := carol.Jobs(ctx, true); err != nil || len(jobs) != 0 {
		t.Errorf("carol's list: %v, %v; want bob's job hidden", jobs, err)
	}
	// A job carol may not see is answered as one that does not exist.
	if err := carol.Cancel(ctx, id); !api.IsNotFound(err) {
		t.Errorf("carol cancelling bob's job: %v, want not found", err)
	}
	if err := bob.Cancel(ctx, id); err != nil {
		t.Errorf("bob cancelling his job: %v", err)
	}
	if _, err := bob.CreateUser(ctx, &structs.User{Name: "mallory"}); !errors.Is(err, structs.ErrForbidden) {
		t.Errorf("a user creating users: %v, want forbidden", err)
	}
	toks, err := mgmt.Tokens(ctx, "carol")
	if err != nil || len(toks) != 1 {
		t.Fatalf("carol's tokens = %+v, %v", toks, err)
	}
	if err := mgmt.RevokeToken(ctx, toks[0].AccessorID); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Jobs(ctx, true); !errors.Is(err, structs.ErrUnauthorized) {
		t.Errorf("a revoked token: %v, want unauthorized", err)
	}
}

// Several addresses in one Config: the first is down, the client moves on
// and stays on the one that answered; when none answers, the error names
// the address it could not reach.
func TestAddressFailover(t *testing.T) {
	live := startServer(t, false)
	dead := deadAddr(t)
	c := newClient(t, dead+", "+live, "")
	ctx := context.Background()
	if c.Address() != dead {
		t.Fatalf("first address %s, want %s", c.Address(), dead)
	}
	if _, err := c.Jobs(ctx, true); err != nil {
		t.Fatalf("list with the first address down: %v", err)
	}
	if c.Address() != live {
		t.Errorf("after the failover the client talks to %s, want %s", c.Address(), live)
	}
	// Streams go to the address that answered last.
	info, err := c.UploadBlob(ctx, strings.NewReader("after a failover"))
	if err != nil || info.Size != int64(len("after a failover")) {
		t.Errorf("upload after a failover: %+v, %v", info, err)
	}
	none := newClient(t, dead+","+deadAddr(t), "")
	_, err = none.Jobs(ctx, true)
	if err == nil || !strings.Contains(err.Error(), "cannot reach nai agent at") {
		t.Errorf("every address down: %v", err)
	}
	for _, bad := range []string{"ftp://x:1", "http://", " , "} {
		if _, err := api.New(api.Config{Address: bad}); err == nil || !strings.Contains(err.Error(), "invalid agent address") {
			t.Errorf("address %q: %v, want invalid agent address", bad, err)
		}
	}
}

// hungAddr is an address that accepts connections and never answers, as a
// server stopped with kill -STOP (the kernel still accepts) does.
func hungAddr(t *testing.T) (addr string, conns *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int32)
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String(), conns
}

// A server that accepts connections and never answers (hung, or stopped
// with kill -STOP) is left for the next address: at once where the request
// was never sent (no TLS handshake), after FailoverAnswerTimeout for a read.
// A write that was sent is not sent again: the error says it may have been
// applied.
func TestHungServerFailover(t *testing.T) {
	oldConnect, oldAnswer, oldProbe := api.FailoverConnectTimeout, api.FailoverAnswerTimeout, api.FailoverProbeTimeout
	api.FailoverConnectTimeout, api.FailoverAnswerTimeout, api.FailoverProbeTimeout = 300*time.Millisecond, 500*time.Millisecond, 400*time.Millisecond
	t.Cleanup(func() {
		api.FailoverConnectTimeout, api.FailoverAnswerTimeout, api.FailoverProbeTimeout = oldConnect, oldAnswer, oldProbe
	})
	ctx := context.Background()

	t.Run("tls", func(t *testing.T) {
		live, conf := startServerTLS(t, false, true)
		hung, conns := hungAddr(t)
		t.Setenv("NAI_TOKEN", "")
		t.Setenv("NAI_TOKEN_FILE", t.TempDir()+"/none")
		c, err := api.New(api.Config{Address: "https://" + hung + "," + live, TLS: conf})
		if err != nil {
			t.Fatal(err)
		}
		// A write: the handshake never ended, so it was never sent.
		start := time.Now()
		if _, err := c.StartUpload(ctx); err != nil {
			t.Fatalf("write with the first server hung: %v", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the failover took %s", took)
		}
		if c.Address() != live || conns.Load() == 0 {
			t.Errorf("client talks to %s (%d connections to the hung one), want %s", c.Address(), conns.Load(), live)
		}
		c2, _ := api.New(api.Config{Address: "https://" + hung + "," + live, TLS: conf})
		if _, err := c2.Jobs(ctx, true); err != nil {
			t.Fatalf("read with the first server hung: %v", err)
		}
		// Every server hung: the error names each.
		other, _ := hungAddr(t)
		none, _ := api.New(api.Config{Address: "https://" + hung + ",https://" + other, TLS: conf})
		_, err = none.Jobs(ctx, true)
		addrs, ok := api.Unreachable(err)
		if !ok || len(addrs) != 2 || !strings.Contains(err.Error(), "TLS handshake timeout") || !strings.Contains(err.Error(), hung) {
			t.Errorf("every server hung: %v (addresses %v, %v)", err, addrs, ok)
		}
	})

	t.Run("plain", func(t *testing.T) {
		live := startServer(t, false)
		hung, _ := hungAddr(t)
		c := newClient(t, "http://"+hung+","+live, "")
		if _, err := c.Jobs(ctx, true); err != nil {
			t.Fatalf("read with the first server hung: %v", err)
		}
		if c.Address() != live {
			t.Errorf("client talks to %s, want %s", c.Address(), live)
		}
		// A write is not sent to an agent that has not answered yet: a
		// read checks first that it answers, and the write goes on to
		// the next.
		w := newClient(t, "http://"+hung+","+live, "")
		if _, err := w.StartUpload(ctx); err != nil {
			t.Fatalf("write with the first server hung: %v", err)
		}
		if w.Address() != live {
			t.Errorf("the write went to %s, want %s", w.Address(), live)
		}
	})

	t.Run("a followed log waits", func(t *testing.T) {
		// A followed log's server sends its headers once the job is
		// placed: a stream is not cut for the answer's wait.
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(3 * api.FailoverAnswerTimeout)
			_, _ = io.WriteString(w, "placed at last\n")
		}))
		t.Cleanup(slow.Close)
		c := newClient(t, slow.URL+","+deadAddr(t), "")
		rc, err := c.Logs(ctx, "1", api.LogOptions{Follow: true})
		if err != nil {
			t.Fatalf("followed log: %v", err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "placed at last\n" {
			t.Errorf("followed log: %q", b)
		}
	})

	t.Run("write sent, no answer", func(t *testing.T) {
		// An agent that answers reads and hangs on writes: a write sent
		// to it is not sent again elsewhere.
		live := startServer(t, false)
		release := make(chan struct{})
		var writes atomic.Int32
		stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				w.WriteHeader(http.StatusOK)
				return
			}
			writes.Add(1)
			<-release
		}))
		t.Cleanup(func() { close(release); stuck.Close() })
		w := newClient(t, stuck.URL+","+live, "")
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := w.StartUpload(wctx)
		if err == nil || !strings.Contains(err.Error(), "may have been applied") {
			t.Errorf("write to a hung server: %v, want \"may have been applied\"", err)
		}
		if _, ok := api.Unreachable(err); ok {
			t.Errorf("a write sent and unanswered counts as unreachable: %v", err)
		}
		if w.Address() != stuck.URL || writes.Load() != 1 {
			t.Errorf("the write moved on to %s (%d writes to the hung agent)", w.Address(), writes.Load())
		}
	})
}

func TestIsLocalDefault(t *testing.T) {
	for addr, want := range map[string]bool{
		api.DefaultAddr: true, "http://localhost:4646": true, "127.0.0.1:4646": true,
		"https://10.0.0.1:4646": false, "http://127.0.0.1:53001": false, "http://srv1:4646": false,
	} {
		if got := api.IsLocalDefault(addr); got != want {
			t.Errorf("IsLocalDefault(%q) = %v", addr, got)
		}
	}
}

// A server catching up with raft's log after a restart answers nothing
// from its state: the next address is asked at once.
func TestCatchingUpAsksTheNextAddress(t *testing.T) {
	var behindCalls atomic.Int32
	behind := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		behindCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(structs.ErrorBody{Error: structs.NewError(structs.CodeCatchingUp, "this server is catching up: its state has applied 386 of 4041 raft entries")})
	}))
	defer behind.Close()
	live := startServer(t, false)
	c := newClient(t, behind.URL+","+live, "")
	if _, err := c.Jobs(context.Background(), true); err != nil {
		t.Fatalf("list with the first server catching up: %v", err)
	}
	if behindCalls.Load() != 1 || c.Address() != live {
		t.Errorf("%d calls to the server catching up, then the client talks to %s; want 1, %s", behindCalls.Load(), c.Address(), live)
	}
}

// An answer "not the leader" means nothing was written: the client sends
// the request again while the servers elect one, until LeaderHold after
// the first try, and then returns the error. Any other error is returned at once.
func TestNotLeaderIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		notLeader int // answers "not the leader" before a real one
		code      structs.ErrorCode
		wantErr   structs.ErrorCode
		wantCalls int
		// delay holds each answer, as a server holds a request while
		// it waits for an election.
		delay time.Duration
	}{
		{"elected after three tries", 3, structs.CodeNotLeader, "", 4, 0},
		{"never elected", 1000, structs.CodeNotLeader, structs.CodeNotLeader, -1, 0},
		{"unknown outcome is not retried", 1, structs.CodeUnavailable, structs.CodeUnavailable, 1, 0},
		{"a server catching up with raft's log, caught up after two tries", 2, structs.CodeCatchingUp, "", 3, 0},
		// The server waited longer than the hold: sending it again
		// would only double the wait for the same answer.
		{"a server that waited out the hold is not asked again", 1000, structs.CodeNotLeader, structs.CodeNotLeader, 1, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var bodies sync.Map
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				b, _ := io.ReadAll(r.Body)
				bodies.Store(n, string(b))
				time.Sleep(tc.delay)
				if int(n) <= tc.notLeader {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					json.NewEncoder(w).Encode(structs.ErrorBody{Error: structs.NewError(tc.code, "no leader yet")})
					return
				}
				json.NewEncoder(w).Encode(structs.JobRegisterResponse{JobIDs: []string{"7"}})
			}))
			defer hs.Close()
			old := api.LeaderHold
			// Long enough for three retries on a loaded machine where
			// a leader is elected; short where none ever is.
			api.LeaderHold = 400 * time.Millisecond
			if tc.wantErr == "" {
				api.LeaderHold = 10 * time.Second
			}
			defer func() { api.LeaderHold = old }()
			c := newClient(t, hs.URL, "")
			resp, err := c.Register(context.Background(), &structs.Job{Name: "x"})
			if structs.CodeOf(err) != tc.wantErr && !(tc.wantErr == "" && err == nil) {
				t.Fatalf("err %v (code %s), want code %q", err, structs.CodeOf(err), tc.wantErr)
			}
			if tc.wantErr == "" && (resp == nil || len(resp.JobIDs) != 1 || resp.JobIDs[0] != "7") {
				t.Errorf("answer %+v", resp)
			}
			got := int(calls.Load())
			if tc.wantCalls >= 0 && got != tc.wantCalls {
				t.Errorf("%d requests, want %d", got, tc.wantCalls)
			}
			if tc.wantCalls < 0 && (got < 3 || got > 8) {
				t.Errorf("%d requests within a 400 ms hold, want a few (backoff from 50 ms)", got)
			}
			first, _ := bodies.Load(int32(1))
			bodies.Range(func(k, v any) bool {
				if v != first {
					t.Errorf("request %v sent body %q, the first %q", k, v, first)
				}
				return true
			})
		})
	}
}

// The client reads every answer to its end, decoded or not, so that its
// connection serves the next request instead of closing: a node's
// reports, whose answers nobody decodes, each dialled a new connection.
func TestAnswersKeepTheConnection(t *testing.T) {
	var conns atomic.Int32
	big := make([]*structs.Allocation, 40)
	for i := range big {
		big[i] = &structs.Allocation{ID: fmt.Sprintf("%d.1", i+1), JobID: fmt.Sprint(i + 1), NodeID: "n1", NodeName: "node-n1"}
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(structs.IndexHeader, "7")
		if r.Method == http.MethodPost {
			_ = json.NewEncoder(w).Encode(structs.IndexResponse{Index: 7})
			return
		}
		_ = json.NewEncoder(w).Encode(big)
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	c, err := api.New(api.Config{Address: ts.URL, IgnoreEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		allocs, idx, err := c.NodeAllocations(context.Background(), "n1", 0, 0)
		if err != nil || idx != 7 || len(allocs) != len(big) {
			t.Fatalf("answer: %d allocations at %d, %v", len(allocs), idx, err)
		}
		if err := c.UpdateAllocs(context.Background(), "n1", []*structs.AllocUpdate{{AllocID: "1.1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 polls and 5 reports took %d connections, want 1", n)
	}
}
