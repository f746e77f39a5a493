package almtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

func TestSecretKeyLogsOn(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	r := run(t, srv, srv.SecretKey())
	if !r.OK || r.KeyRejected {
		t.Fatalf("want logon to work:\n%s", r)
	}
	tok := want(t, r, StepToken, StatusOK, []string{"access token", "12h"}, nil)
	api := want(t, r, StepAPI, StatusOK, []string{"accepted the token"}, nil)
	if tok.HTTPStatus != 200 || api.HTTPStatus != 200 || tok.Hint != "" || api.Hint != "" {
		t.Fatalf("statuses %d/%d, hints %q %q", tok.HTTPStatus, api.HTTPStatus, tok.Hint, api.Hint)
	}
	if r.TokenLifetime != fakealm.DefaultExpiresIn*time.Second {
		t.Fatalf("token lifetime %s, want %ds", r.TokenLifetime, fakealm.DefaultExpiresIn)
	}
	if !slices.Equal(r.Scopes, fakealm.DefaultScopes) {
		t.Fatalf("scopes %q, want %q", r.Scopes, fakealm.DefaultScopes)
	}
	if r.Started.IsZero() || r.Duration <= 0 || r.Duration < tok.Duration+api.Duration {
		t.Fatalf("run timing: started %v, %s for steps of %s and %s", r.Started, r.Duration, tok.Duration, api.Duration)
	}

	// What went over the wire: one POST with the credentials in the form
	// body, then one GET with a bearer token and no secret.
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("servers saw %d requests, want 2: %+v", len(reqs), reqs)
	}
	tr, ar := reqs[0], reqs[1]
	if tr.Endpoint != fakealm.EndpointUAA || tr.Method != "POST" || !tr.SecretInBody || tr.BasicAuth || tr.SecretInURL ||
		tr.GrantType != "client_credentials" || tr.ClientID != testkeys.ClientID || !strings.HasPrefix(tr.ContentType, "application/x-www-form-urlencoded") {
		t.Fatalf("token request: %+v", tr)
	}
	if ar.Endpoint != fakealm.EndpointAPI || ar.Method != "GET" || !ar.Bearer || ar.Path != "/api"+ProjectsPath || ar.SecretInURL {
		t.Fatalf("API request: %+v", ar)
	}
}

func TestX509KeyLogsOnOverMutualTLS(t *testing.T) {
	for _, alg := range []testkeys.Alg{testkeys.RSAPKCS1, testkeys.RSAPKCS8, testkeys.ECDSA} {
		srv := fakealm.Start(t, fakealm.Options{KeyAlg: alg})
		r := run(t, srv, srv.X509Key())
		if !r.OK {
			t.Fatalf("alg %d: want logon to work:\n%s", alg, r)
		}
		c := srv.Counts()
		if c != (fakealm.Counts{Cert: 1, API: 1}) {
			t.Fatalf("alg %d: requests %+v; want one token request at certurl and one API call", alg, c)
		}
		tr := srv.Requests()[0]
		if tr.ClientCertCN == "" || tr.SecretInBody || tr.ClientID != testkeys.ClientID || tr.Method != "POST" {
			t.Fatalf("alg %d: token request %+v; want a verified client certificate, client_id and no secret", alg, tr)
		}
	}
}

func TestAPIWithoutReadScopeWarns(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Scopes: []string{"uaa.resource"}})
	r := run(t, srv, srv.SecretKey())
	if !r.OK {
		t.Fatalf("a 403 still means logon works:\n%s", r)
	}
	s := want(t, r, StepAPI, StatusWarn, []string{ReadScope, "403"}, []string{"logon works"})
	if s.HTTPStatus != 403 || !strings.Contains(r.Verdict(), "warning") {
		t.Fatalf("HTTP %d, verdict %q", s.HTTPStatus, r.Verdict())
	}
}

func TestAPIRejectsToken(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	srv.SetAPIStatus(http.StatusUnauthorized)
	r := run(t, srv, srv.SecretKey())
	if r.OK || r.KeyRejected {
		t.Fatalf("API 401: want failure without blaming the key's credentials:\n%s", r)
	}
	want(t, r, StepToken, StatusOK, nil, nil)
	want(t, r, StepAPI, StatusFail, []string{"rejected the token", "401", fakealm.Host(srv.UAAURL())}, []string{"tenant or region", "endpoints.Api"})
}

func TestAPIServerError(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	srv.SetAPIStatus(http.StatusBadGateway)
	r := run(t, srv, srv.SecretKey())
	want(t, r, StepAPI, StatusFail, []string{"has a problem", "502"}, []string{"server's side"})
}

func TestAPINotFound(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	r := run(t, srv, srv.SecretKeyWith(testkeys.Fields{APIURL: srv.APIURL() + "/v2"}))
	want(t, r, StepAPI, StatusFail, []string{"not found", "404"}, []string{"endpoints.Api"})
}

func TestKeyRejected(t *testing.T) {
	for _, kind := range []string{"secret", "x509"} {
		srv := fakealm.Start(t, fakealm.Options{KeyAlg: testkeys.ECDSA})
		srv.RejectKey(true)
		data := srv.SecretKey()
		if kind == "x509" {
			data = srv.X509Key()
		}
		r := run(t, srv, data)
		if r.OK || !r.KeyRejected {
			t.Fatalf("%s: want a rejected key:\n%s", kind, r)
		}
		s := want(t, r, StepToken, StatusFail, []string{"rejected the key's credentials", "401", "Bad credentials"}, []string{"deleted or regenerated", "BTP cockpit", "delete the key here"})
		want(t, r, StepAPI, StatusSkipped, []string{"no token"}, nil)
		if s.HTTPStatus != 401 || srv.Counts().API != 0 {
			t.Fatalf("%s: HTTP %d, API calls %d", kind, s.HTTPStatus, srv.Counts().API)
		}
		if !strings.Contains(r.Verdict(), "rejected") {
			t.Fatalf("verdict %q does not say the key was rejected", r.Verdict())
		}
	}
}

func TestInvalidClientRejectsKey(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"Client authentication failed"}`))
	}))
	r := run(t, srv, srv.SecretKey())
	if !r.KeyRejected {
		t.Fatalf("400 invalid_client must count as a rejected key:\n%s", r)
	}
	want(t, r, StepToken, StatusFail, []string{"rejected", "400", "invalid_client"}, []string{"deleted or regenerated"})
}

func TestTokenNotFound(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	srv.SetTokenHandler(http.NotFoundHandler())
	r := run(t, srv, srv.SecretKey())
	want(t, r, StepToken, StatusFail, []string{"not found", "404", "/oauth/token"}, []string{"uaa.url", "authentication"})
	if r.KeyRejected {
		t.Fatal("a 404 says nothing about the credentials")
	}
}

func TestX509TokenNotFoundNamesCertURL(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{KeyAlg: testkeys.ECDSA})
	srv.SetTokenHandler(http.NotFoundHandler())
	// The mistake the field guide warns of: certurl holding uaa.url's host.
	r := run(t, srv, srv.X509KeyWith(testkeys.Fields{CertURL: srv.UAAURL()}))
	want(t, r, StepToken, StatusFail, []string{"404"}, []string{"uaa.certurl", ".authentication.cert.", "same host as url"})

	r = run(t, srv, srv.X509Key())
	s := want(t, r, StepToken, StatusFail, []string{"404"}, []string{"uaa.certurl"})
	if strings.Contains(s.Hint, "same host") {
		t.Fatalf("certurl differs from url here, yet the hint says %q", s.Hint)
	}
}

func TestTokenServerError(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
	}))
	r := run(t, srv, srv.SecretKey())
	s := want(t, r, StepToken, StatusFail, []string{"has a problem", "503"}, []string{"server's side", "try again"})
	if s.HTTPStatus != 503 || r.KeyRejected {
		t.Fatalf("HTTP %d, rejected %v", s.HTTPStatus, r.KeyRejected)
	}
}

func TestTokenReplyIsNotAToken(t *testing.T) {
	cases := []struct {
		name, ctype, body, says string
	}{
		{"html login page", "text/html; charset=utf-8", "<html><body>Sign in to the network</body></html>", "an HTML page"},
		{"json without token", "application/json", `{"status":"ok"}`, "no access_token"},
		{"broken json", "application/json", `{"access_token":`, "JSON that cannot be read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := fakealm.Start(t, fakealm.Options{})
			srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", c.ctype)
				_, _ = w.Write([]byte(c.body))
			}))
			r := run(t, srv, srv.SecretKey())
			want(t, r, StepToken, StatusFail, []string{"HTTP 200", c.says, "not a token"}, []string{"proxy", "uaa.url"})
			if srv.Counts().API != 0 {
				t.Fatal("the API was called without a token")
			}
		})
	}
}

func TestTokenRedirectIsNotFollowed(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	thief := fakealm.StartSink(t, srv.CA)
	srv.SetTokenHandler(http.RedirectHandler(thief.URL+"/oauth/token", http.StatusTemporaryRedirect))
	r := run(t, srv, srv.SecretKey())
	s := want(t, r, StepToken, StatusFail, []string{"redirected to host " + fakealm.Host(thief.URL), "307", "not followed"}, []string{"uaa.url"})
	if thief.Hits() != 0 {
		t.Fatalf("the redirect target got %d requests; credentials must go only to the key's hosts", thief.Hits())
	}
	if s.HTTPStatus != 307 {
		t.Fatalf("HTTP %d", s.HTTPStatus)
	}
}

func TestAPIRedirectIsNotFollowed(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	thief := fakealm.StartSink(t, srv.CA)
	srv.SetAPIHandler(http.RedirectHandler(thief.URL+"/api/x", http.StatusFound))
	r := run(t, srv, srv.SecretKey())
	want(t, r, StepAPI, StatusFail, []string{"redirected to host " + fakealm.Host(thief.URL), "302"}, []string{"endpoints.Api"})
	if thief.Hits() != 0 {
		t.Fatalf("the redirect target got %d requests; the token must go only to the key's API host", thief.Hits())
	}
}

func TestHostNotFound(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	// .invalid never resolves (RFC 6761).
	r := run(t, srv, srv.SecretKeyWith(testkeys.Fields{UAAURL: "https://calmkey-nowhere.invalid"}))
	want(t, r, StepToken, StatusFail, []string{"calmkey-nowhere.invalid", "cannot be"}, []string{"uaa.url", "This step went direct.", "calmkeyctl proxy", "HTTPS_PROXY", "--proxy"})
	if c := srv.Counts(); c.UAA+c.API != 0 {
		t.Fatalf("requests reached the servers: %+v", c)
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := run(t, srv, srv.SecretKeyWith(testkeys.Fields{UAAURL: "https://" + addr}))
	want(t, r, StepToken, StatusFail, []string{addr, "refused the connection"}, []string{"uaa.url", "port"})
}

// blackHole accepts connections and never says a word, like a host behind a
// firewall that swallows the TLS handshake.
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	t.Cleanup(func() { close(done); l.Close() })
	return l.Addr().String()
}

func TestConnectionTimesOut(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	addr := blackHole(t)
	key := parse(t, srv.SecretKeyWith(testkeys.Fields{UAAURL: "https://" + addr}))
	// A third of the limit goes to connecting, so the handshake times out
	// before the run does; the caller's deadline, the limit, never passes,
	// so that only the handshake's timer can end the step, however slow
	// the machine.
	ctx := newHeldDeadline(time.Now().Add(1500 * time.Millisecond))
	r := Run(ctx, key, Options{RootCAs: srv.RootCAs()})
	want(t, r, StepToken, StatusFail, []string{"TLS handshake with " + addr, "timed out"}, []string{"firewall", "This step went direct (loopback).", "calmkeyctl proxy", "HTTPS_PROXY", "--proxy"})
}

func TestRunDeadline(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	key := parse(t, srv.SecretKey())
	tokenHost, apiHost := fakealm.Host(srv.UAAURL()), fakealm.Host(srv.APIURL())
	// The run's own time limit, on its own timer: the token server answers
	// only when the client gives up.
	srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	r := Run(context.Background(), key, Options{RootCAs: srv.RootCAs(), Timeout: 800 * time.Millisecond})
	want(t, r, StepToken, StatusFail, []string{"no answer from " + tokenHost, "time limit of 800ms"}, []string{"slow", "allow more time"})
	want(t, r, StepAPI, StatusSkipped, nil, nil)
	if r.OK {
		t.Fatal("a run that hit its deadline cannot have proved the logon")
	}
	srv.SetTokenHandler(nil)

	// The time runs out while the API is asked, after a token came: the
	// API step names the run's limit, the shorter one. The deadline passes
	// when the API is reached, not on a timer, so a slow token step cannot
	// use it up first.
	held := newHeldDeadline(time.Now().Add(2 * time.Hour))
	apiWaits := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held.pass()
		<-r.Context().Done() // answers only when the client gives up
	})
	srv.SetAPIHandler(apiWaits)
	r = Run(held, key, Options{RootCAs: srv.RootCAs(), Timeout: time.Hour})
	want(t, r, StepToken, StatusOK, nil, nil)
	want(t, r, StepAPI, StatusFail, []string{"no answer from " + apiHost, "time limit of 1h"}, []string{"slow", "allow more time"})
	if r.OK {
		t.Fatal("a run that hit its deadline cannot have proved the logon")
	}

	// The caller's deadline counts too, and is the one named when shorter.
	held = newHeldDeadline(time.Now().Add(700 * time.Millisecond))
	r = Run(held, key, Options{RootCAs: srv.RootCAs()})
	// What is left of the 700 ms when Run starts: under -race on a busy
	// machine that may be some milliseconds less, never more.
	s := want(t, r, StepAPI, StatusFail, []string{"no answer from " + apiHost, "time limit of "}, nil)
	m := regexp.MustCompile(`time limit of (\d+)ms`).FindStringSubmatch(s.Detail)
	if m == nil {
		t.Fatalf("the detail names no limit in ms: %q", s.Detail)
	}
	if ms, _ := strconv.Atoi(m[1]); ms > 700 || ms < 300 {
		t.Errorf("the detail names a limit of %d ms for a 700 ms deadline: %q", ms, s.Detail)
	}
}

func TestCancel(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	}))
	r := Run(ctx, parse(t, srv.SecretKey()), Options{RootCAs: srv.RootCAs()})
	s := step(t, r, StepToken)
	if s.Status != StatusFail || !strings.Contains(s.Detail, "cancelled") || r.OK {
		t.Fatalf("cancelled run:\n%s", r)
	}
	want(t, r, StepAPI, StatusSkipped, nil, nil)
}

func TestUntrustedCertificate(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	other := testkeys.NewCA(t) // as a TLS-inspecting proxy's CA would be: unknown to us
	r := Run(context.Background(), parse(t, srv.SecretKey()), Options{RootCAs: other.Pool, Timeout: 10 * time.Second})
	want(t, r, StepToken, StatusFail, []string{"not trusted", fakealm.Host(srv.UAAURL()), `"calmkey test CA"`}, []string{"TLS-inspecting proxy", "SSL_CERT_FILE"})
	if c := srv.Counts(); c.UAA != 0 {
		t.Fatal("the token request went out over an untrusted connection")
	}
}

func TestCertificateForAnotherHost(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	other := startTLS(t, srv.CA, http.NotFoundHandler(), nil, "elsewhere.example")
	r := run(t, srv, srv.SecretKeyWith(testkeys.Fields{UAAURL: other.URL}))
	want(t, r, StepToken, StatusFail, []string{"certificate of", "elsewhere.example"}, []string{"uaa.url", "proxy"})
}

func TestOldTLSRefused(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	old := startTLS(t, srv.CA, http.NotFoundHandler(), func(c *tls.Config) { c.MaxVersion = tls.VersionTLS11 })
	r := run(t, srv, srv.SecretKeyWith(testkeys.Fields{UAAURL: old.URL}))
	want(t, r, StepToken, StatusFail, []string{"older than 1.2"}, []string{"uaa.url"})
}

// TestOldTLSServerHello: most servers limited to TLS 1.0 or 1.1 do not
// refuse the handshake with an alert (as Go's own do, above) but answer with
// a ServerHello for their version, which crypto/tls then refuses with an
// untyped error; the diagnosis must come from the version itself.
func TestOldTLSServerHello(t *testing.T) {
	for _, tt := range []struct {
		name    string
		version uint16
		proxied bool
	}{{"TLS 1.1", tls.VersionTLS11, false}, {"TLS 1.0", tls.VersionTLS10, false}, {"TLS 1.1 through a proxy", tls.VersionTLS11, true}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakealm.Start(t, fakealm.Options{})
			addr := oldTLSServer(t, tt.version)
			if tt.proxied {
				// The proxy's answer to CONNECT comes first on the
				// connection; loopback addresses are never proxied.
				proxy := startProxy(t, 0)
				setProxyEnv(t, proxy.URL, "")
				_, port, _ := net.SplitHostPort(addr)
				addr = "old.calmkey.test:" + port
				t.Cleanup(func() {
					if len(proxy.seen()) != 1 {
						t.Errorf("the proxy tunnelled %q", proxy.seen())
					}
				})
			}
			r := run(t, srv, srv.SecretKeyWith(testkeys.Fields{UAAURL: "https://" + addr}))
			want(t, r, StepToken, StatusFail, []string{addr, "older than 1.2"}, []string{"uaa.url", "proxy"})
		})
	}
}

// oldTLSServer answers every ClientHello with a ServerHello for version
// (RFC 5246 7.4.1.3: no session id, one cipher suite, no compression, no
// extensions) and returns its address.
func oldTLSServer(t *testing.T, version uint16) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	v1, v2 := byte(version>>8), byte(version)
	hello := []byte{2, 0, 0, 38, v1, v2} // ServerHello, length, version
	hello = append(hello, make([]byte, 32)...)
	hello = append(hello, 0, 0xc0, 0x13, 0) // session id, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, null compression
	record := append([]byte{22, v1, v2, 0, byte(len(hello))}, hello...)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Read(make([]byte, 4096)); err != nil { // the ClientHello
					return
				}
				if _, err := c.Write(record); err != nil {
					return
				}
				_, _ = c.Read(make([]byte, 64)) // the client's alert, or EOF
			}()
		}
	}()
	return l.Addr().String()
}

func TestPlainHTTPOnHTTPSPort(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	plain := httptestPlain(t)
	r := run(t, srv, srv.SecretKeyWith(testkeys.Fields{UAAURL: "https://" + plain}))
	want(t, r, StepToken, StatusFail, []string{"does not answer in TLS"}, []string{"port"})
}

func TestClientCertificateRefused(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{KeyAlg: testkeys.ECDSA})
	foreign := testkeys.NewCA(t)
	chain, pk := foreign.Client(t, "calmkey-test-client", time.Now().Add(90*24*time.Hour), testkeys.ECDSA)
	data := testkeys.X509Key(testkeys.Fields{UAAURL: srv.UAAURL(), CertURL: srv.CertURL(), APIURL: srv.APIURL()}, chain, pk)
	r := run(t, srv, data)
	want(t, r, StepToken, StatusFail, []string{"refused the key's client certificate"}, []string{"new x509 key"})
}

func TestOnlyHTTPSCredentials(t *testing.T) {
	// vault.Parse refuses such keys; a Key built by hand must not leak either.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	k := &vault.Key{CredentialType: vault.BindingSecret, ClientID: "x", UAAURL: "http://" + l.Addr().String(), APIEndpoint: "https://" + l.Addr().String() + "/api"}
	r := Run(context.Background(), k, Options{Timeout: time.Second})
	want(t, r, StepToken, StatusFail, []string{"not an https URL", "not sent"}, []string{"https://"})
	// No request should have been tried: nothing connected. A connection
	// made during the run waits in the listen queue, and Accept takes it
	// at once; the deadline only ends the wait for none.
	_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(50 * time.Millisecond))
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Fatal("the run connected to the http:// token URL")
	}
}

func TestNoKey(t *testing.T) {
	r := Run(context.Background(), nil, Options{})
	want(t, r, StepToken, StatusFail, []string{"no service key"}, []string{"upload"})
	want(t, r, StepAPI, StatusSkipped, nil, nil)
}

func TestReportJSON(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Scopes: []string{"uaa.resource"}})
	r := run(t, srv, srv.SecretKey())
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ok", "key_rejected", "steps", "started", "ms", "token_lifetime_s", "scopes"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("report JSON lacks %q: %s", k, b)
		}
	}
	if raw["ok"] != true || raw["token_lifetime_s"] != float64(fakealm.DefaultExpiresIn) {
		t.Fatalf("report JSON: %s", b)
	}
	steps := raw["steps"].([]any)
	api := steps[1].(map[string]any)
	for _, k := range []string{"id", "status", "ms", "http_status", "detail", "hint"} {
		if _, ok := api[k]; !ok {
			t.Fatalf("api step JSON lacks %q: %s", k, b)
		}
	}
	if api["id"] != "api" || api["status"] != "warn" || api["http_status"] != float64(403) {
		t.Fatalf("api step JSON: %v", api)
	}
	if _, ok := steps[0].(map[string]any)["hint"]; ok {
		t.Fatalf("an ok step has no hint, so none in JSON: %s", b)
	}

	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if string(again) != string(b) {
		t.Fatalf("JSON does not round-trip:\n%s\n%s", b, again)
	}

	empty, _ := json.Marshal(&Report{})
	if !strings.Contains(string(empty), `"steps":[]`) || !strings.Contains(string(empty), `"scopes":[]`) {
		t.Fatalf("empty lists must be [] not null: %s", empty)
	}
}

func TestReportText(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	srv.RejectKey(true)
	r := run(t, srv, srv.SecretKey())
	text := r.String()
	for _, p := range []string{"Logon fails", "Token: failed (HTTP 401", "API: skipped", "What to do: The key or its service instance"} {
		if !strings.Contains(text, p) {
			t.Fatalf("text lacks %q:\n%s", p, text)
		}
	}
	if tr := r.FirstTrouble(); r.OK || tr == nil || tr.ID != StepToken || !strings.Contains(tr.Detail, "Bad credentials") || !strings.Contains(tr.Hint, "Delete the key here") {
		t.Fatalf("first trouble of a rejected key: %+v", tr)
	}

	if r.Outcome() != "Logon fails: the key was rejected" || r.Verdict() != "Logon fails: the key was rejected." {
		t.Errorf("outcome %q, verdict %q", r.Outcome(), r.Verdict())
	}
	if got := r.Steps[0].Summary(); !strings.HasPrefix(got, "Token: failed (HTTP 401, ") || !strings.HasSuffix(got, " ms)") {
		t.Errorf("token step summary %q", got)
	}
	if got := r.Steps[0].String(); got != r.Steps[0].Summary()+": "+r.Steps[0].Detail {
		t.Errorf("token step line %q", got)
	}

	srv.RejectKey(false)
	r = run(t, srv, srv.SecretKey())
	if !r.OK || r.FirstTrouble() != nil || !strings.HasPrefix(r.String(), "Logon works") || !strings.Contains(r.String(), "Scopes: ") {
		t.Fatalf("a working logon:\n%s", r)
	}
	if r.Outcome() != "Logon works" || r.Verdict() != "Logon works: the key can log on to the SAP Cloud ALM API." {
		t.Errorf("outcome %q, verdict %q", r.Outcome(), r.Verdict())
	}
	warned := &Report{OK: true, Steps: []Step{{ID: StepToken, Status: StatusOK}, {ID: StepAPI, Status: StatusWarn}}}
	if warned.Outcome() != "Logon works, with a warning" || (&Report{}).Outcome() != "Logon fails" {
		t.Errorf("outcomes %q, %q", warned.Outcome(), (&Report{}).Outcome())
	}
	if got := (Step{ID: StepAPI, Status: StatusSkipped}).Summary(); got != "API: skipped" {
		t.Errorf("a skipped step's summary %q", got)
	}
}

func TestExpiredClientCertificateIsNotSent(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	// Certificates count whole seconds; this one is valid at upload and
	// expired at the run, a second past its end on the run's clock, as a
	// stored key's certificate one day is.
	notAfter := time.Now().Add(time.Hour).Truncate(time.Second)
	chain, pk := srv.CA.Client(t, "calmkey-test-client", notAfter, testkeys.ECDSA)
	key := parse(t, testkeys.X509Key(testkeys.Fields{UAAURL: srv.UAAURL(), CertURL: srv.CertURL(), APIURL: srv.APIURL()}, chain, pk))
	later := func() time.Time { return notAfter.Add(time.Second) }
	r := Run(context.Background(), key, Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second, Now: later})
	want(t, r, StepToken, StatusFail, []string{"expired on " + vault.CertExpiry(notAfter, later()).Date()}, []string{"new service key", "delete this one"})
	if !r.Started.Equal(later()) || r.Duration != 0 {
		t.Errorf("the report's times are not the run's clock: started %v, took %v", r.Started, r.Duration)
	}
	if c := srv.Counts(); c != (fakealm.Counts{}) {
		t.Fatalf("an expired certificate was offered anyway: %+v", c)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, s := range map[time.Duration]string{
		43199 * time.Second:       "12h",
		7200 * time.Second:        "2h",
		5400 * time.Second:        "1h30m",
		90 * time.Second:          "2m",
		30 * time.Second:          "30s",
		699800 * time.Microsecond: "700ms",
		4 * time.Millisecond:      "4ms",
	} {
		if got := humanDuration(d); got != s {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, s)
		}
	}
}
