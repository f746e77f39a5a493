package main

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/calmkey/calmkey/internal/fakealm"
)

// End-to-end tests of `calmkeyctl test` against fakealm's loopback HTTPS
// servers. The binary trusts their CA the way a user behind a company CA
// would make it: SSL_CERT_FILE names a PEM file, no test-only flag.

// fakeToken matches the access tokens fakealm issues; none may be printed.
var fakeToken = regexp.MustCompile(`fake-[A-Za-z0-9_-]{20,}`)

type testReport struct {
	OK          bool   `json:"ok"`
	KeyRejected bool   `json:"key_rejected"`
	ErrorCode   string `json:"error_code"`
	Steps       []struct {
		ID         string   `json:"id"`
		Status     string   `json:"status"`
		MS         *float64 `json:"ms"`
		HTTPStatus int      `json:"http_status"`
		Detail     *string  `json:"detail"`
		Hint       string   `json:"hint"`
	} `json:"steps"`
}

// logonCLI is a cli whose runs trust srv's CA and are scanned for tokens.
func logonCLI(t *testing.T, srv *fakealm.Server) *cli {
	t.Helper()
	c := newCLI(t)
	c.env = append(c.env, "SSL_CERT_FILE="+c.file("fake-ca.pem", srv.CA.CertPEM, 0o644))
	return c
}

func runTestJSON(t *testing.T, c *cli, wantCode int, extra ...string) testReport {
	t.Helper()
	r := c.run("", append([]string{"test", "--json"}, extra...)...)
	if fakeToken.MatchString(r.stdout + r.stderr) {
		t.Error("calmkeyctl test printed an access token")
	}
	if r.code != wantCode {
		t.Fatalf("test --json: want exit %d, got %v", wantCode, r)
	}
	var rep testReport
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("test --json is not a JSON object: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("test --json printed more than one JSON value:\n%s", r.stdout)
	}
	return rep
}

// checkSteps asserts the report's shape: token then api, each with the fields
// the contract names, and the statuses wanted.
func checkSteps(t *testing.T, rep testReport, token, api string, tokenHTTP, apiHTTP int) {
	t.Helper()
	if len(rep.Steps) != 2 || rep.Steps[0].ID != "token" || rep.Steps[1].ID != "api" {
		t.Fatalf("steps: %+v; want token then api", rep.Steps)
	}
	for i, want := range []struct {
		status string
		http   int
	}{{token, tokenHTTP}, {api, apiHTTP}} {
		s := rep.Steps[i]
		if s.Status != want.status || s.HTTPStatus != want.http {
			t.Errorf("step %s: status %q http_status %d; want %q %d (detail %q, hint %q)", s.ID, s.Status, s.HTTPStatus, want.status, want.http, deref(s.Detail), s.Hint)
		}
		if s.MS == nil || *s.MS < 0 || s.Detail == nil {
			t.Errorf("step %s lacks ms or detail: %+v", s.ID, s)
		}
		if (s.Status == "fail" || s.Status == "warn") && s.Hint == "" {
			t.Errorf("step %s is %s without a hint", s.ID, s.Status)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestE2ELogonSecretKey(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	c := logonCLI(t, srv)
	key := srv.SecretKey()
	c.addSecrets(key)

	rep := runTestJSON(t, c, exitNo)
	if rep.OK || rep.ErrorCode != "not_stored" || rep.Steps == nil || len(rep.Steps) != 0 {
		t.Errorf("test --json with nothing stored: %+v", rep)
	}
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload")

	rep = runTestJSON(t, c, exitOK)
	if !rep.OK || rep.KeyRejected {
		t.Errorf("report: ok %v, key_rejected %v", rep.OK, rep.KeyRejected)
	}
	checkSteps(t, rep, "ok", "ok", 200, 200)

	r := c.run("", "test", "--timeout", "20s")
	expect(t, r, exitOK, "test")
	if !strings.Contains(r.stdout, "token") || !strings.Contains(r.stdout, "api") {
		t.Errorf("test does not report the steps:\n%s", r.stdout)
	}
	if fakeToken.MatchString(r.stdout + r.stderr) {
		t.Error("calmkeyctl test printed an access token")
	}
	// The client secret went in the form body of a POST, to the key's host.
	var tokenReqs int
	for _, rq := range srv.Requests() {
		if rq.Endpoint == fakealm.EndpointUAA {
			tokenReqs++
			if rq.Method != http.MethodPost || !rq.SecretInBody || rq.SecretInURL || rq.BasicAuth {
				t.Errorf("token request: %+v", rq)
			}
		}
	}
	if tokenReqs != 2 {
		t.Errorf("%d token requests for two runs", tokenReqs)
	}

	// No read scope: the API says 403, logon still works, with a warning.
	srv.SetScopes("uaa.resource")
	rep = runTestJSON(t, c, exitOK)
	checkSteps(t, rep, "ok", "warn", 200, 403)

	// The API rejects the token: logon fails.
	srv.SetAPIStatus(http.StatusUnauthorized)
	rep = runTestJSON(t, c, exitNo)
	checkSteps(t, rep, "ok", "fail", 200, 401)
	srv.SetAPIStatus(0)

	// The key was deleted in the BTP cockpit: 401 Bad credentials.
	srv.RejectKey(true)
	rep = runTestJSON(t, c, exitNo)
	if rep.OK || !rep.KeyRejected {
		t.Errorf("rejected key: ok %v, key_rejected %v", rep.OK, rep.KeyRejected)
	}
	checkSteps(t, rep, "fail", "skipped", 401, 0)
	r = c.run("", "test")
	expect(t, r, exitNo, "test with a rejected key")
	if !strings.Contains(r.stderr, "calmkeyctl delete") {
		t.Errorf("test with a rejected key does not say how to delete it:\n%s", r.stderr)
	}
}

func TestE2ELogonX509Key(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	c := logonCLI(t, srv)
	key := srv.X509Key()
	c.addSecrets(key)
	expect(t, c.run("", "upload", c.file("x509.txt", key, 0o600)), exitOK, "upload")

	rep := runTestJSON(t, c, exitOK)
	checkSteps(t, rep, "ok", "ok", 200, 200)
	certReqs := 0
	for _, rq := range srv.Requests() {
		if rq.Endpoint == fakealm.EndpointUAA {
			t.Error("an x509 key asked uaa.url for a token instead of uaa.certurl")
		}
		if rq.Endpoint == fakealm.EndpointCert {
			certReqs++
			if rq.ClientCertCN == "" || rq.SecretInBody {
				t.Errorf("mTLS token request: %+v", rq)
			}
		}
	}
	if certReqs != 1 {
		t.Errorf("%d token requests to uaa.certurl, want 1", certReqs)
	}
}

// Without SSL_CERT_FILE the fake CA is not trusted: the run fails at the
// token step and the credentials never reach the server.
func TestE2ELogonUntrusted(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	c := newCLI(t)
	key := srv.SecretKey()
	c.addSecrets(key)
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload")
	rep := runTestJSON(t, c, exitNo)
	checkSteps(t, rep, "fail", "skipped", 0, 0)
	if !strings.Contains(rep.Steps[0].Hint, "SSL_CERT_FILE") {
		t.Errorf("untrusted certificate: hint %q does not mention SSL_CERT_FILE", rep.Steps[0].Hint)
	}
	if n := srv.Counts().UAA; n != 0 {
		t.Errorf("%d requests reached the untrusted server", n)
	}
}

// A token endpoint that never answers: --timeout ends the run, and that is a
// failed logon (1), not a keychain problem (3).
func TestE2ELogonTimeout(t *testing.T) {
	srv := silentTokenServer(t)
	c := logonCLI(t, srv)
	key := srv.SecretKey()
	c.addSecrets(key)
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload")
	// A third of the limit goes to connecting: enough for the first TLS
	// handshake of a process, which takes up to 0.8 s under Wine (Windows'
	// certificate verifier) on a busy machine, so the request does arrive.
	rep := runTestJSON(t, c, exitNo, "--timeout", "5s")
	if rep.OK || len(rep.Steps) != 2 || rep.Steps[0].Status != "fail" || rep.Steps[1].Status != "skipped" {
		t.Errorf("timed-out run: %+v", rep)
	}
	r := c.run("", "test", "--timeout", "5s")
	expect(t, r, exitNo, "test with a hanging token server")
	if !strings.Contains(r.stderr, "--timeout") {
		t.Errorf("a timed-out test does not point at --timeout: %q", r.stderr)
	}
	if srv.Counts().UAA == 0 {
		t.Error("the token request never reached the hanging server; the test proves nothing")
	}
}

// The token pattern above must match what fakealm issues, or the scans for
// it prove nothing.
func TestFakeTokenPattern(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.RootCAs()}}}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fakeClientID(t, srv)}, "client_secret": {fakeSecret(t, srv)}}
	resp, err := client.PostForm(srv.UAAURL()+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("no token from fakealm: %v (HTTP %d)", err, resp.StatusCode)
	}
	if !fakeToken.MatchString(tok.AccessToken) {
		t.Error("fakeToken does not match the tokens fakealm issues")
	}
}

func fakeClientID(t *testing.T, srv *fakealm.Server) string {
	return keyField(t, srv.SecretKey(), "clientid")
}
func fakeSecret(t *testing.T, srv *fakealm.Server) string {
	return keyField(t, srv.SecretKey(), "clientsecret")
}

func keyField(t *testing.T, key []byte, field string) string {
	t.Helper()
	var doc struct {
		UAA map[string]any `json:"uaa"`
	}
	if err := json.Unmarshal(key, &doc); err != nil {
		t.Fatal(err)
	}
	s, _ := doc.UAA[field].(string)
	return s
}

// silentTokenServer is a fakealm whose token endpoints never answer: each
// request waits until the client gives up (or the test ends).
func silentTokenServer(t *testing.T) *fakealm.Server {
	srv := fakealm.Start(t, fakealm.Options{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	return srv
}
