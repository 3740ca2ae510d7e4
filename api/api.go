package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nai-project/nai/structs"
)

// DefaultAddr is where the CLI looks for an agent when NAI_ADDR is unset.
const DefaultAddr = "http://127.0.0.1:4646"

// IndexHeader and AllocHeader are the API's headers (see structs).
const (
	IndexHeader = structs.IndexHeader
	AllocHeader = structs.AllocHeader
)

// Config says how to reach the cluster and as whom.
type Config struct {
	// Address is one agent's address ("http://host:4646"), or several
	// separated by commas: the client moves on to the next when one
	// cannot be reached. Empty: NAI_ADDR, else DefaultAddr.
	Address string
	// Token is the secret sent as "Authorization: Bearer". Empty:
	// NAI_TOKEN, else the file `nai login` writes (TokenFile).
	Token string
	// CACert verifies the agents' certificates (https); ClientCert and
	// ClientKey are this client's, for agents that require one. Empty:
	// NAI_CACERT, NAI_CLIENT_CERT, NAI_CLIENT_KEY.
	CACert, ClientCert, ClientKey string
	// TLS, when set, is used as it is instead of the three files.
	TLS *tls.Config
	// IgnoreEnv uses only what is set here: no NAI_* variable and no
	// token file fill the empty fields (agents' own clients).
	IgnoreEnv bool
}

// DefaultConfig is the configuration from the environment: NAI_ADDR,
// NAI_TOKEN (else the token file), NAI_CACERT, NAI_CLIENT_CERT,
// NAI_CLIENT_KEY.
func DefaultConfig() Config {
	return Config{
		Address:    os.Getenv("NAI_ADDR"),
		Token:      os.Getenv("NAI_TOKEN"),
		CACert:     os.Getenv("NAI_CACERT"),
		ClientCert: os.Getenv("NAI_CLIENT_CERT"),
		ClientKey:  os.Getenv("NAI_CLIENT_KEY"),
	}
}

// TokenFile is where `nai login` keeps the token: NAI_TOKEN_FILE, else
// ~/.nai/token.
func TokenFile() string {
	if p := os.Getenv("NAI_TOKEN_FILE"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".nai", "token")
}

// ReadTokenFile reads the token `nai login` saved, "" when there is none.
// A file that others may read is refused, as ssh refuses such keys.
func ReadTokenFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s may be read by others (mode %04o): run chmod 600 %s, or nai login again", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Client talks to a nai cluster over HTTP.
type Client struct {
	addrs []string
	// cur is the index of the address that answered last.
	cur   atomic.Int32
	http  *http.Client
	token string
	// seen is the highest state index any answer said its server had:
	// later requests ask for at least that (read your writes on any
	// server).
	seen *atomic.Uint64
	// answered[i]: the agent at addrs[i] answered a request of this
	// client (any HTTP answer). A write goes to an address of several only
	// once it has: a hung agent takes the request and never answers, and
	// a write sent cannot be sent again elsewhere.
	answered []atomic.Bool
}

// NewClient returns a client for addr (see Config.Address), with the rest
// of the configuration from the environment.
func NewClient(addr string) (*Client, error) {
	cfg := DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	return New(cfg)
}

// New returns a client for cfg; empty fields are filled from the
// environment as DefaultConfig does.
func New(cfg Config) (*Client, error) {
	env := DefaultConfig()
	if cfg.IgnoreEnv {
		env = Config{}
	}
	if cfg.Address == "" {
		cfg.Address = env.Address
	}
	if cfg.Address == "" {
		cfg.Address = DefaultAddr
	}
	if cfg.Token == "" {
		cfg.Token = env.Token
	}
	if cfg.Token == "" && !cfg.IgnoreEnv {
		t, err := ReadTokenFile(TokenFile())
		if err != nil {
			return nil, err
		}
		cfg.Token = t
	}
	if cfg.CACert == "" && cfg.ClientCert == "" && cfg.ClientKey == "" {
		cfg.CACert, cfg.ClientCert, cfg.ClientKey = env.CACert, env.ClientCert, env.ClientKey
	}
	tlsConf := cfg.TLS
	if tlsConf == nil && (cfg.CACert != "" || cfg.ClientCert != "") {
		var err error
		if tlsConf, err = ClientTLS(cfg.CACert, cfg.ClientCert, cfg.ClientKey); err != nil {
			return nil, err
		}
	}
	var addrs []string
	for _, a := range strings.Split(cfg.Address, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !strings.Contains(a, "://") {
			a = "http://" + a
			if tlsConf != nil {
				a = "https://" + strings.TrimPrefix(a, "http://")
			}
		}
		u, err := url.Parse(a)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("invalid agent address %q: expected http://host:port or https://host:port", a)
		}
		addrs = append(addrs, strings.TrimRight(a, "/"))
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("invalid agent address %q: expected http://host:port", cfg.Address)
	}
	if strings.ContainsAny(cfg.Token, " \t\r\n") {
		return nil, errors.New("the token has spaces in it: expected the secret that `nai token create` or `nai acl bootstrap` printed")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.TLSClientConfig = tlsConf
	if len(addrs) > 1 {
		// Another server can take the request: one that does not accept
		// the connection, or accepts it and never finishes the handshake
		// (a hung process: the kernel still accepts), is left quickly.
		d := &net.Dialer{Timeout: FailoverConnectTimeout, KeepAlive: 30 * time.Second}
		tr.DialContext = d.DialContext
		tr.TLSHandshakeTimeout = FailoverConnectTimeout
	}
	return &Client{addrs: addrs, http: &http.Client{Transport: tr}, token: cfg.Token, seen: new(atomic.Uint64), answered: make([]atomic.Bool, len(addrs))}, nil
}

// FailoverConnectTimeout bounds the connection and TLS handshake to one
// address when NAI_ADDR lists others to try (a single address keeps the
// transport's own limits: 30 s to connect, 10 s to shake hands).
var FailoverConnectTimeout = 3 * time.Second

// FailoverProbeTimeout bounds the answer to the cheap read that checks an
// agent answers before a write is sent to it (see Client.answered).
var FailoverProbeTimeout = 5 * time.Second

// FailoverAnswerTimeout is how long a GET or HEAD sent to one of several
// addresses waits for its answer (beyond the wait of a blocking query)
// before the next address is asked: a server that accepts connections and
// never answers is hung. A write is never sent twice: it may have been
// applied.
var FailoverAnswerTimeout = 15 * time.Second

// ClientTLS builds the TLS configuration of a client from PEM files: the CA
// that signed the agents' certificates, and this client's certificate and
// key (both or neither).
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		conf.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key (NAI_CLIENT_CERT and NAI_CLIENT_KEY)")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// Address returns the agent address this client talks to now.
func (c *Client) Address() string { return c.addrs[int(c.cur.Load())%len(c.addrs)] }

// Token returns the secret this client sends, "" for none.
func (c *Client) Token() string { return c.token }

// WithToken returns a copy of the client that sends token instead.
func (c *Client) WithToken(token string) *Client {
	n := &Client{addrs: c.addrs, http: c.http, token: token, seen: c.seen, answered: c.answered}
	n.cur.Store(c.cur.Load())
	return n
}

// rawJSON is a request body already encoded, sent as it is (json.Marshal
// would check and compact it again).
type rawJSON []byte

// do sends a request and decodes a JSON answer into out (when non-nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) (uint64, error) {
	var body []byte
	if raw, ok := in.(rawJSON); ok {
		body = raw
	} else if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		body = b
	}
	resp, err := c.send(ctx, method, path, body, "application/json", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	idx, _ := strconv.ParseUint(resp.Header.Get(IndexHeader), 10, 64)
	if out == nil {
		// Read, not just closed: a node's report, answered with an index
		// nobody decodes, closed its connection, and the next dialled a
		// new one (hundreds a second from a thousand nodes; a TLS
		// handshake each where TLS is on).
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerTail))
		return idx, nil
	}
	if err := decodeAnswer(resp.Body, out); err != nil {
		return idx, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return idx, nil
}

// decodeAnswer decodes the JSON value of an answer and reads the rest of
// the body (the encoder's newline; a chunked body's last chunk when it
// came apart from the data), up to maxAnswerTail: a body closed before its
// end takes its connection with it.
func decodeAnswer(body io.Reader, out any) error {
	if err := json.NewDecoder(body).Decode(out); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxAnswerTail))
	return nil
}

// maxAnswerTail bounds what is read of an answer that is not decoded, or
// after the value decoded: a server sends little there (an index, a
// newline); more, and the connection goes rather than read it.
const maxAnswerTail = 4 << 10

// LeaderHold is how long a request answered "not the leader" (nothing was
// written: an election is under way) is sent again before its error is
// returned, as Nomad and Consul servers hold RPCs through an election. A
// failover takes well under a second with the default raft timing.
var LeaderHold = 5 * time.Second

// send sends a request with a body that can be sent again (or none): when
// an address cannot be reached, the next one is tried, and while the
// servers elect a leader the request is sent again until LeaderHold after
// it was first sent (so is one that servers catching up with raft's log
// refused, after the other addresses were tried). A server itself waits
// for an election (10 s) before it answers "no raft leader", so that
// answer, coming after the hold, is not sent again: two waits would only
// double the time to the error.
func (c *Client) send(ctx context.Context, method, path string, body []byte, ctype string, hdr http.Header) (*http.Response, error) {
	return c.sendBounded(ctx, method, path, body, ctype, hdr, true)
}

// sendBounded is send; bounded: a GET to one of several addresses waits
// FailoverAnswerTimeout for its answer's headers before the next is
// asked. A stream's server may rightly wait long before its headers (a
// followed log waits for the job's placement; a snapshot is built
// first): raw sends it unbounded.
func (c *Client) sendBounded(ctx context.Context, method, path string, body []byte, ctype string, hdr http.Header, bounded bool) (*http.Response, error) {
	deadline := time.Now().Add(LeaderHold)
	wait := 50 * time.Millisecond
	for {
		resp, err := c.sendOnce(ctx, method, path, body, ctype, hdr, bounded)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return resp, err
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// retryable says whether send sends a request again: nothing was written,
// and another moment (or server) may answer it: an election is under way,
// or the servers are catching up with raft's log after a restart.
func retryable(err error) bool {
	c := structs.CodeOf(err)
	return c == structs.CodeNotLeader || c == structs.CodeCatchingUp
}

// sendOnce is one try of send: each address in turn until one is reached.
func (c *Client) sendOnce(ctx context.Context, method, path string, body []byte, ctype string, hdr http.Header, bounded bool) (*http.Response, error) {
	var lastErr error
	var tried []*reachError
	start := int(c.cur.Load())
	for i := range c.addrs {
		k := (start + i) % len(c.addrs)
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		var within time.Duration
		if bounded && len(c.addrs) > 1 && idempotent(method) {
			within = answerTimeout(path)
		}
		var resp *http.Response
		err := c.probe(ctx, k, method)
		if err == nil {
			resp, err = c.roundTrip(ctx, c.addrs[k], method, path, r, ctype, hdr, within)
		}
		if re := (*reachError)(nil); !errors.As(err, &re) {
			c.answered[k].Store(true) // an answer, if an error one
		}
		// A server catching up with raft's log answers nothing from its
		// state: another may.
		if structs.CodeOf(err) == structs.CodeCatchingUp && i < len(c.addrs)-1 && ctx.Err() == nil {
			lastErr = err
			continue
		}
		if err == nil || !tryNext(err) || ctx.Err() != nil {
			if err == nil {
				c.cur.Store(int32(k))
			}
			if len(tried) > 0 && err != nil {
				var re *reachError
				if errors.As(err, &re) {
					re.before = tried
				}
			}
			return resp, err
		}
		var re *reachError
		errors.As(err, &re)
		tried = append(tried, re)
		lastErr = err
	}
	if n := len(tried); n > 1 {
		tried[n-1].before = tried[:n-1]
	}
	return nil, lastErr
}

// probe checks, before a write goes to one of several addresses, that the
// agent there answers at all (any HTTP answer to GET /v1/status/leader),
// unless it answered this client before. Its error is the probe's, a
// reachError of a GET: the write was not sent, and the next address is
// tried.
func (c *Client) probe(ctx context.Context, k int, method string) error {
	if len(c.addrs) < 2 || idempotent(method) || c.answered[k].Load() {
		return nil
	}
	resp, err := c.roundTrip(ctx, c.addrs[k], http.MethodGet, "/v1/status/leader", nil, "", nil, FailoverProbeTimeout)
	var re *reachError
	if errors.As(err, &re) {
		return err
	}
	if resp != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerTail))
		resp.Body.Close()
	}
	c.answered[k].Store(true)
	return nil
}

// idempotent reports whether a request may be sent again, to another
// server, when it went unanswered.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// rawRead is raw for a GET that the server answers at once, as a JSON
// read (the queue's views): bounded as do's reads are.
func (c *Client) rawRead(ctx context.Context, path string) (*http.Response, error) {
	return c.sendBounded(ctx, http.MethodGet, path, nil, "", nil, true)
}

// answerTimeout is how long a GET may wait for its answer before the next
// address is asked: FailoverAnswerTimeout, plus the wait of a blocking
// query (?index=N&wait=D; the server's default wait is 5 minutes).
func answerTimeout(path string) time.Duration {
	d := FailoverAnswerTimeout
	u, err := url.Parse(path)
	if err != nil {
		return d
	}
	q := u.Query()
	if n, _ := strconv.ParseUint(q.Get("index"), 10, 64); n == 0 {
		return d
	}
	wait := 5 * time.Minute
	if w, err := time.ParseDuration(q.Get("wait")); err == nil && w >= 0 {
		wait = w
	}
	return d + min(wait, 10*time.Minute)
}

// raw sends a request whose body is a stream (sent once, to the current
// address), or a GET whose answer is one (no bound on the wait for its
// headers: see sendBounded), and returns the answer when its status is
// 2xx; any other status becomes a *structs.Error rebuilt from the body.
func (c *Client) raw(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	if body == nil {
		return c.sendBounded(ctx, method, path, nil, ctype, nil, false)
	}
	return c.roundTrip(ctx, c.Address(), method, path, body, ctype, nil, 0)
}

// reachError is a request that got no answer from an agent: it failed
// before it was sent (no connection, no TLS handshake), or was sent and no
// answer came.
type reachError struct {
	addr   string
	method string
	path   string
	err    error
	// sent: the whole request was written before the failure.
	sent bool
	// noAnswer: no answer came within the time allowed (the error is ours).
	noAnswer time.Duration
	// before are the addresses tried first, each with its own failure.
	before []*reachError
}

func (e *reachError) Error() string {
	var b strings.Builder
	if e.sent && !idempotent(e.method) {
		// A write that went unanswered: it may have been applied.
		fmt.Fprintf(&b, "%s %s was sent to the nai agent at %s but no answer came (%v): it may have been applied; check before sending it again", e.method, e.path, e.addr, e.cause())
	} else {
		fmt.Fprintf(&b, "cannot reach nai agent at %s: %v", e.addr, e.cause())
	}
	for _, o := range e.before {
		fmt.Fprintf(&b, "; before it, %s: %v", o.addr, o.cause())
	}
	return b.String()
}

func (e *reachError) cause() error {
	if e.noAnswer > 0 {
		return fmt.Errorf("no answer within %s", e.noAnswer)
	}
	return e.err
}

func (e *reachError) Unwrap() error { return e.err }

// tryNext reports whether a failed request may go to the next address: it
// was not sent (no connection, no TLS handshake: the agent never saw it),
// or it is a read (a request, or the probe before a write), which any
// server can answer again.
func tryNext(err error) bool {
	var re *reachError
	if !errors.As(err, &re) {
		return false
	}
	return !re.sent || idempotent(re.method)
}

// Unreachable reports whether err says that no agent answered a request,
// and which addresses were tried. A write that was sent and went
// unanswered is not such an error: it may have been applied.
func Unreachable(err error) ([]string, bool) {
	var re *reachError
	if !errors.As(err, &re) || (re.sent && !idempotent(re.method)) {
		return nil, false
	}
	var addrs []string
	for _, o := range re.before {
		addrs = append(addrs, o.addr)
	}
	return append(addrs, re.addr), true
}

// IsLocalDefault reports whether addr is the address the CLI uses when
// none is configured, where `nai agent -dev` listens (127.0.0.1:4646 or
// localhost:4646).
func IsLocalDefault(addr string) bool {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return false
	}
	switch u.Host {
	case "127.0.0.1:4646", "localhost:4646", "[::1]:4646":
		return true
	}
	return false
}

// errNoAnswer cancels a request whose answer took too long.
var errNoAnswer = errors.New("no answer in time")

// cancelBody cancels the request's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// roundTrip sends one request to addr. within > 0 bounds the wait for the
// answer once the request was written.
func (c *Client) roundTrip(ctx context.Context, addr, method, path string, body io.Reader, ctype string, hdr http.Header, within time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	var (
		mu    sync.Mutex
		sent  bool
		timer *time.Timer
	)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			sent = true
			if within > 0 {
				if timer != nil {
					timer.Stop()
				}
				timer = time.AfterFunc(within, func() { cancel(errNoAnswer) })
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, method, addr+path, body)
	if err != nil {
		cancel(nil)
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if n := c.seen.Load(); n > 0 {
		req.Header.Set(structs.MinIndexHeader, strconv.FormatUint(n, 10))
	}
	resp, err := c.http.Do(req)
	mu.Lock()
	if timer != nil {
		timer.Stop()
	}
	wasSent := sent
	mu.Unlock()
	if err != nil {
		re := &reachError{addr: addr, method: method, path: path, err: err, sent: wasSent}
		if errors.Is(context.Cause(ctx), errNoAnswer) {
			re.noAnswer = within
		}
		cancel(nil)
		return nil, re
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	c.noteIndex(resp)
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, errorFrom(resp, method, path)
}

// noteIndex remembers the newest state index an answer reports.
func (c *Client) noteIndex(resp *http.Response) {
	n, err := strconv.ParseUint(resp.Header.Get(structs.LastIndexHeader), 10, 64)
	if err != nil {
		return
	}
	for {
		old := c.seen.Load()
		if n <= old || c.seen.CompareAndSwap(old, n) {
			return
		}
	}
}

// errorFrom rebuilds the coded error of a non-2xx answer.
func errorFrom(resp *http.Response, method, path string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb structs.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
		return eb.Error
	}
	code := structs.CodeInternal
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		code = structs.CodeUnauthorized
	case http.StatusForbidden:
		code = structs.CodeForbidden
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		// 405: the agent has the path but not this method, as an agent
		// of an older release answers a route it lacks.
		code = structs.CodeNotFound
	case http.StatusBadRequest:
		code = structs.CodeInvalid
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = resp.Status
	}
	return structs.NewError(code, "%s %s: %s: %s", method, path, resp.Status, msg)
}

// IsNotFound reports whether err is a not-found answer.
func IsNotFound(err error) bool { return errors.Is(err, structs.ErrNotFound) }

// IsUnauthorized reports whether err says the credential is missing,
// unknown or expired.
func IsUnauthorized(err error) bool { return errors.Is(err, structs.ErrUnauthorized) }

// IsForbidden reports whether err says the caller lacks a right.
func IsForbidden(err error) bool { return errors.Is(err, structs.ErrForbidden) }
