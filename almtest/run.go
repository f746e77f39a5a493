package almtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// ProjectsPath is what the API step reads, below endpoints.Api. Any
// authenticated client may ask; only ReadScope gets an answer other than 403.
const ProjectsPath = "/calm-projects/v1/projects"

// ReadScope lets a token read projects. Monitoring keys usually lack it,
// which is why a 403 still counts as a working logon.
const ReadScope = "calm-api.projects.read"

// maxConnect bounds dialling and the TLS handshake of one connection, so that
// a host that swallows packets is named as such instead of eating the whole
// run and surfacing as a bare deadline.
const maxConnect = 10 * time.Second

// Run logs on with key and reports each step. It never returns an error: every
// failure is a step with a detail and a hint. ctx cancels the run.
func Run(ctx context.Context, key *vault.Key, opts Options) *Report {
	r := &Report{Started: opts.now()}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	limit := timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = max(time.Until(d), 0)
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A resolver per run, not once per process as net/http reads the
	// environment: a changed setting (and a test) takes effect at the next
	// run, and a PAC script's answers are kept for this one.
	routes, routeErr := netroute.New(netroute.Options{Proxy: opts.Proxy, System: opts.system})

	ru := &runner{
		ctx:     runCtx,
		parent:  ctx,
		key:     key,
		limit:   limit,
		roots:   rootCAs(opts.RootCAs),
		routes:  routes,
		connect: min(maxConnect, max(limit/3, time.Millisecond)),
		report:  r,
		now:     opts.now,
		cleaner: newCleaner(key),
	}
	if routeErr != nil {
		// Callers check Options.Proxy with netroute.ParseOverride first;
		// this is the net under them. The error never quotes the value.
		token, api := Step{ID: StepToken}, Step{ID: StepAPI}
		token.set(failed(proxySettingMsg(routeErr), m("hint.proxySetting")))
		api.set(diagnosis{status: StatusSkipped, detail: m("test.notRun")})
		r.Steps = []Step{token, api}
		r.Duration = opts.now().Sub(r.Started)
		return r
	}
	token := ru.tokenStep()
	ru.apiStep(token)
	r.OK = r.Steps[1].Status == StatusOK || r.Steps[1].Status == StatusWarn
	r.Duration = opts.now().Sub(r.Started)
	return r
}

type runner struct {
	ctx    context.Context // the run's, with its deadline
	parent context.Context // the caller's: tells a cancel from a timeout
	key    *vault.Key
	limit  time.Duration
	roots  *x509.CertPool
	// routes decides each connection's way out (netroute): the
	// environment, Windows' settings and PAC, WinHTTP, direct.
	routes  *netroute.Resolver
	connect time.Duration
	report  *Report
	now     func() time.Time // Options.Now
	// Every string from outside goes through clean before it reaches the
	// report; see clean.go.
	*cleaner
}

// exchange is what a step saw of its one HTTP exchange, for diagnosis. The
// transport fills it from its own goroutines, which may outlive a cancelled
// request; hence the lock, and readers use seen.
type exchange struct {
	mu sync.Mutex
	// route is the way the connection went (direct, or which proxy and
	// why); nil when none was dialled.
	route  *netroute.Route
	status int
	header http.Header
	// body is the start of the answer (up to keptBody bytes), as the
	// client read it: what came in place of a token is told from it.
	body []byte
	// serverVersion is the TLS version in the server's ServerHello, 0
	// when none was seen (watchHello).
	serverVersion uint16
}

// keptBody bounds what an exchange keeps of an answer's body.
const keptBody = 64 << 10

// exchangeFacts is a copy of an exchange's fields, safe to read.
type exchangeFacts struct {
	route  *netroute.Route
	status int
	header http.Header
	body   []byte

	serverVersion uint16
}

func (ex *exchange) seen() exchangeFacts {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return exchangeFacts{ex.route, ex.status, ex.header, bytes.Clone(ex.body), ex.serverVersion}
}

// client makes a fresh client for one request. Each step has its own, so that
// a client certificate can only ever be offered to the token host, and the
// run leaves no pooled connection behind.
//
// net/http's own proxy path is not used (Proxy is nil): netroute's dialler
// finds the route, runs CONNECT with the proxy's authentication and hands
// back the tunnel, and net/http does the host's TLS handshake inside it
// with cfg. So cfg, which may hold the certificate, is used for exactly
// one handshake, with the host the key names; an https proxy gets a TLS
// config of the dialler's own, without a certificate.
func (ru *runner) client(cert *tls.Certificate, ex *exchange) (*http.Client, *http.Transport) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ru.roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	dialer := &netroute.Dialer{
		Resolver: ru.routes,
		Timeout:  ru.connect,
		RootCAs:  ru.roots,
		Observe: func(rt netroute.Route) {
			ex.mu.Lock()
			ex.route = &rt
			ex.mu.Unlock()
		},
	}
	tr := &http.Transport{
		Proxy: nil,
		// watchHello reads the server's TLS version for the diagnosis,
		// inside the tunnel when there is one.
		DialContext:            ex.watchHello(dialer.DialContext),
		TLSClientConfig:        cfg,
		TLSHandshakeTimeout:    ru.connect,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 1 << 20,
	}
	return &http.Client{
		Transport: recordingTransport{tr, ex},
		// Never follow: a redirect would carry the credentials, or the
		// bearer token, to a host the key does not name.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, tr
}

type recordingTransport struct {
	base *http.Transport
	ex   *exchange
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		t.ex.mu.Lock()
		t.ex.status = resp.StatusCode
		t.ex.header = resp.Header
		t.ex.body = nil
		t.ex.mu.Unlock()
		resp.Body = keptReader{resp.Body, t.ex}
	}
	return resp, err
}

// keptReader keeps the start of what is read from an answer's body in the
// exchange. It stays in memory: it may hold a token, and is only parsed.
type keptReader struct {
	io.ReadCloser
	ex *exchange
}

func (r keptReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.ex.mu.Lock()
		if room := keptBody - len(r.ex.body); room > 0 {
			r.ex.body = append(r.ex.body, p[:min(n, room)]...)
		}
		r.ex.mu.Unlock()
	}
	return n, err
}

// tokenField is the key field the token URL comes from, as users see it.
func tokenField(k *vault.Key) string {
	if k.CredentialType == vault.X509 {
		return "uaa.certurl"
	}
	return "uaa.url"
}

// checkURL makes sure credentials would go over https to a named host.
func checkURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, false
	}
	return u, true
}

// tokenStep asks the token endpoint for a token with the key's credentials
// and returns it, "" when it got none.
func (ru *runner) tokenStep() (token string) {
	st := Step{ID: StepToken}
	start := ru.now()
	defer func() {
		st.Duration = ru.now().Sub(start)
		ru.report.Steps = append(ru.report.Steps, st)
	}()
	cred, bad := ru.credentials()
	if bad != nil {
		st.set(*bad)
		return ""
	}
	k := ru.key
	ex := &exchange{}
	hc, tr := ru.client(cred.cert, ex)
	defer tr.CloseIdleConnections()
	cfg := clientcredentials.Config{
		ClientID:     k.ClientID,
		ClientSecret: cred.secret,
		TokenURL:     cred.tokenURL,
		// In the form body: SAP's own libraries moved there because Basic
		// headers mangle ids and secrets with '!', '|', '$' and '='.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	tok, err := cfg.Token(context.WithValue(ru.ctx, oauth2.HTTPClient, hc))
	facts := ex.seen()
	st.HTTPStatus = facts.status
	st.Route = facts.route
	if err != nil {
		d := ru.tokenFailure(err, facts, cred.parsed, tokenField(k))
		d.status = StatusFail
		st.set(d)
		ru.report.KeyRejected = d.keyRejected
		return ""
	}
	// From here on the token is as secret as the key: the API host, or
	// whatever answers in its place, may echo it.
	ru.addSecret(tok.AccessToken)
	st.set(diagnosis{status: StatusOK, detail: ru.gotToken(tok)})
	return tok.AccessToken
}

// credentials are what the token request sends, and where.
type credentials struct {
	tokenURL string           // as the key has it, sent as is
	parsed   *url.URL         // tokenURL, checked (checkURL)
	secret   string           // a client-secret key's
	cert     *tls.Certificate // an x509 key's
}

// credentials checks that the key can be sent for a token as it is: a
// token URL over https, and a client secret or a certificate that has not
// expired (the token server would refuse it; better to say why). The
// diagnosis says why not.
func (ru *runner) credentials() (credentials, *diagnosis) {
	bad := func(detail, hint vault.Msg) (credentials, *diagnosis) {
		d := failed(detail, hint)
		return credentials{}, &d
	}
	k := ru.key
	if k == nil {
		return bad(m("test.noKey"), m("hint.uploadFirst"))
	}
	raw := k.TokenURL()
	u, ok := checkURL(raw)
	if !ok {
		return bad(m("test.token.badURL", "Field", tokenField(k)), m("hint.token.badURL"))
	}
	switch {
	case k.CredentialType.IsSecret():
		secret := k.ClientSecret()
		if secret == "" {
			return bad(m("test.noSecret"), m("hint.noSecret"))
		}
		return credentials{tokenURL: raw, parsed: u, secret: secret}, nil
	case k.CredentialType == vault.X509:
		c, err := k.TLSCertificate()
		if err != nil {
			return bad(m("test.x509.unusable"), m("hint.x509.unusable"))
		}
		if exp := vault.CertExpiry(k.CertExpiry, ru.now()); exp.Expired {
			return bad(m("test.x509.expired", "Date", exp.Date()), m("hint.x509.expired"))
		}
		return credentials{tokenURL: raw, parsed: u, cert: &c}, nil
	}
	return bad(m("test.credType.unknown", "Type", strconv.Quote(string(k.CredentialType))), m("hint.credType"))
}

// gotToken is the token step's detail when a token came: how long it is
// valid and how many scopes it has, and records both in the report.
func (ru *runner) gotToken(tok *oauth2.Token) vault.Msg {
	life := lifetime(tok)
	ru.report.TokenLifetime = life
	hidden := 0
	if s, ok := tok.Extra("scope").(string); ok {
		ru.report.Scopes, hidden = ru.scopes(s)
	}
	var lifeMsg, scopes, hiddenMsg vault.Msg
	if life > 0 {
		lifeMsg = m("test.token.lifetime", "Duration", humanDuration(life))
	}
	if n := len(ru.report.Scopes) + hidden; n > 0 {
		scopes = m("test.token.scopes", "N", strconv.Itoa(n))
	}
	if hidden > 0 {
		hiddenMsg = m("test.token.hidden", "N", strconv.Itoa(hidden))
	}
	return m("test.token.ok").With("Lifetime", lifeMsg).With("Scopes", scopes).With("Hidden", hiddenMsg)
}

// maxLifetime is the longest token lifetime a report believes; a server's
// larger figure (or one that overflows a Duration) is shown as none.
const maxLifetime = 366 * 24 * time.Hour

// lifetime reads expires_in; clientcredentials keeps only the expiry time,
// which has already aged by the time we look.
func lifetime(tok *oauth2.Token) time.Duration {
	secs := float64(0)
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = v
	case string:
		var n int64
		if _, err := fmt.Sscan(v, &n); err == nil {
			secs = float64(n)
		}
	}
	switch {
	case secs > 0 && secs <= maxLifetime.Seconds():
		return time.Duration(secs) * time.Second
	case secs == 0 && !tok.Expiry.IsZero():
		if d := time.Until(tok.Expiry).Round(time.Second); d > 0 && d <= maxLifetime {
			return d
		}
	}
	return 0
}

func (ru *runner) apiStep(token string) {
	st := Step{ID: StepAPI}
	start := ru.now()
	defer func() {
		st.Duration = ru.now().Sub(start)
		ru.report.Steps = append(ru.report.Steps, st)
	}()
	if token == "" {
		st.set(diagnosis{status: StatusSkipped, detail: m("test.notRun")})
		return
	}
	u, ok := checkURL(ru.key.APIEndpoint)
	if !ok {
		st.set(failed(m("test.api.badURL"), m("hint.api.badURL")))
		return
	}
	apiURL := strings.TrimRight(ru.key.APIEndpoint, "/") + ProjectsPath

	ex := &exchange{}
	hc, tr := ru.client(nil, ex)
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ru.ctx, http.MethodGet, apiURL, nil)
	if err != nil {
		st.set(failed(m("test.api.badRequest"), m("hint.uploadAsIs")))
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	st.Route = ex.seen().route
	if err != nil {
		d := ru.transportFailure(err, ex.seen(), u, "endpoints.Api")
		d.status = StatusFail
		st.set(d)
		return
	}
	// Drained so the numbers include the whole answer; capped because only
	// the status matters.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if d, late := ru.ctxFailure(u.Host); late {
		// The answer came as the time limit ran out: net/http may still
		// hand over a response that arrived beside the cancellation (a
		// server that answers the client's giving up). Too late to count.
		d.status = StatusFail
		st.set(d)
		return
	}
	st.HTTPStatus = resp.StatusCode
	st.set(ru.apiStatus(resp, u))
}

// set gives the step d's status, and its detail and hint as codes and in
// English.
func (st *Step) set(d diagnosis) {
	st.Status = d.status
	st.Detail, st.DetailMsg = d.detail.English(), d.detail
	st.Hint, st.HintMsg = d.hint.English(), d.hint
}

// humanDuration gives "12h", "11h59m", "45s": expires_in is usually a second
// short of a round figure, which is noise to a reader.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		// A caller's deadline arrives here a hair short: 699.8ms reads as 700ms.
		if r := d.Round(10 * time.Millisecond); r > 0 {
			d = r
		}
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return d.Round(time.Second).String()
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// proxySettingMsg is a proxy setting that cannot be used, its error a code
// when netroute gives one.
func proxySettingMsg(err error) vault.Msg {
	if msg, ok := OverrideMsg(err); ok {
		return m("test.proxySetting").With("Error", msg)
	}
	return m("test.proxySetting", "Error", err.Error())
}
