package fakealm

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// client trusts the fake servers and, when cert is given, presents it.
func client(s *Server, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: s.RootCAs(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: cfg},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type tokenReply struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	JTI         string `json:"jti"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func postToken(t *testing.T, c *http.Client, tokenURL string, form url.Values) (int, tokenReply) {
	t.Helper()
	resp, err := c.PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenReply
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("token reply (HTTP %d) is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, tr
}

func getProjects(t *testing.T, c *http.Client, s *Server, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.APIURL()+ProjectsPath, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func secretForm(s *Server) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {s.clientID}, "client_secret": {s.secret}}
}

func TestSecretLogon(t *testing.T) {
	s := Start(t, Options{})
	c := client(s, nil)
	code, tr := postToken(t, c, s.UAAURL()+"/oauth/token", secretForm(s))
	if code != 200 || tr.AccessToken == "" || tr.TokenType != "bearer" || tr.ExpiresIn != DefaultExpiresIn || tr.JTI == "" {
		t.Fatalf("token: HTTP %d, type %q, expires_in %d, jti set %v", code, tr.TokenType, tr.ExpiresIn, tr.JTI != "")
	}
	if !strings.Contains(tr.Scope, ReadScope) {
		t.Fatalf("scope %q lacks %s", tr.Scope, ReadScope)
	}
	if code := getProjects(t, c, s, tr.AccessToken); code != 200 {
		t.Fatalf("API with token: HTTP %d, want 200", code)
	}
	if code := getProjects(t, c, s, "not-a-token"); code != 401 {
		t.Fatalf("API with a made-up token: HTTP %d, want 401", code)
	}
	if code := getProjects(t, c, s, ""); code != 401 {
		t.Fatalf("API without token: HTTP %d, want 401", code)
	}
	got := s.Counts()
	if got != (Counts{UAA: 1, API: 3}) {
		t.Fatalf("counts %+v", got)
	}
	rq := s.Requests()[0]
	if rq.Method != "POST" || !rq.SecretInBody || rq.BasicAuth || rq.ClientID != s.clientID || rq.GrantType != "client_credentials" || rq.Status != 200 {
		t.Fatalf("token request seen as %+v", rq)
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	s := Start(t, Options{})
	c := client(s, nil)
	tokenURL := s.UAAURL() + "/oauth/token"

	resp, err := c.Get(tokenURL + "?" + secretForm(s).Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Fatalf("GET: HTTP %d, Allow %q; want 405, POST", resp.StatusCode, resp.Header.Get("Allow"))
	}

	bad := secretForm(s)
	bad.Set("client_secret", "wrong")
	if code, tr := postToken(t, c, tokenURL, bad); code != 401 || tr.Error != "unauthorized" || tr.Description != "Bad credentials" {
		t.Fatalf("wrong secret: HTTP %d %q %q", code, tr.Error, tr.Description)
	}

	// Basic header instead of the body: XSUAA-as-documented reads the body.
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.clientID), url.QueryEscape(s.secret))
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("credentials in a Basic header: HTTP %d, want 401", resp.StatusCode)
	}

	s.RejectKey(true)
	if code, tr := postToken(t, c, tokenURL, secretForm(s)); code != 401 || tr.Description != "Bad credentials" {
		t.Fatalf("rejected key: HTTP %d %q", code, tr.Description)
	}
	s.RejectKey(false)
	if code, _ := postToken(t, c, s.UAAURL()+"/oauth/tokens", secretForm(s)); code != 404 {
		t.Fatalf("wrong path: HTTP %d, want 404", code)
	}
	if code, _ := postToken(t, c, tokenURL, secretForm(s)); code != 200 {
		t.Fatalf("after RejectKey(false): HTTP %d", code)
	}
}

func TestScopesAndAPIStatus(t *testing.T) {
	s := Start(t, Options{Scopes: []string{"uaa.resource"}, ExpiresIn: 600})
	c := client(s, nil)
	code, tr := postToken(t, c, s.UAAURL()+"/oauth/token", secretForm(s))
	if code != 200 || tr.ExpiresIn != 600 || tr.Scope != "uaa.resource" {
		t.Fatalf("HTTP %d expires_in %d scope %q", code, tr.ExpiresIn, tr.Scope)
	}
	if code := getProjects(t, c, s, tr.AccessToken); code != 403 {
		t.Fatalf("token without read scope: HTTP %d, want 403", code)
	}
	s.SetScopes(ReadScope)
	_, tr = postToken(t, c, s.UAAURL()+"/oauth/token", secretForm(s))
	if code := getProjects(t, c, s, tr.AccessToken); code != 200 {
		t.Fatalf("after SetScopes: HTTP %d, want 200", code)
	}
	s.SetAPIStatus(503)
	if code := getProjects(t, c, s, tr.AccessToken); code != 503 {
		t.Fatalf("SetAPIStatus(503): HTTP %d", code)
	}
}

func TestX509Logon(t *testing.T) {
	s := Start(t, Options{KeyAlg: testkeys.ECDSA})
	key, err := vault.Parse(s.X509Key())
	if err != nil {
		t.Fatalf("X509Key does not parse: %v", err)
	}
	if key.CredentialType != vault.X509 || key.TokenURL() != s.CertURL()+"/oauth/token" {
		t.Fatalf("x509 key: type %s, token URL %s", key.CredentialType, key.TokenURL())
	}
	cert, err := key.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {key.ClientID}}

	code, tr := postToken(t, client(s, &cert), key.TokenURL(), form)
	if code != 200 || tr.AccessToken == "" {
		t.Fatalf("mTLS token: HTTP %d %q", code, tr.Description)
	}
	if code := getProjects(t, client(s, nil), s, tr.AccessToken); code != 200 {
		t.Fatalf("API: HTTP %d", code)
	}
	if code, _ := postToken(t, client(s, nil), key.TokenURL(), form); code != 401 {
		t.Fatalf("cert endpoint without a client certificate: HTTP %d, want 401", code)
	}
	if code, _ := postToken(t, client(s, &cert), s.UAAURL()+"/oauth/token", form); code != 401 {
		t.Fatalf("x509 client id at uaa.url: HTTP %d, want 401", code)
	}
	if rq := s.Requests()[0]; rq.Endpoint != EndpointCert || rq.ClientCertCN == "" || rq.SecretInBody {
		t.Fatalf("mTLS request seen as %+v", rq)
	}
	// Every server notes whether a certificate was offered, verified or not.
	if code := getProjects(t, client(s, &cert), s, tr.AccessToken); code != 200 {
		t.Fatalf("API with a client certificate: HTTP %d", code)
	}
	var offered []bool
	for _, rq := range s.Requests() {
		offered = append(offered, rq.ClientCert)
	}
	if want := []bool{true, false, false, true, true}; !slices.Equal(offered, want) {
		t.Fatalf("client certificate offered per request: %v, want %v", offered, want)
	}
	if rq := s.Requests()[3]; rq.Endpoint != EndpointUAA || rq.ClientCertCN != "" {
		t.Fatalf("uaa.url does not verify client certificates, yet saw %+v", rq)
	}

	// A certificate from another CA must not get through the handshake.
	other := testkeys.NewCA(t)
	chain, pk := other.Client(t, "intruder", s.clientCert.NotAfter, testkeys.ECDSA)
	foreign, err := tls.X509KeyPair([]byte(chain), []byte(pk))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client(s, &foreign).PostForm(key.TokenURL(), form); err == nil {
		t.Fatal("a client certificate from a foreign CA was accepted")
	}
}

func TestKeysParse(t *testing.T) {
	s := Start(t, Options{})
	k, err := vault.Parse(s.SecretKey())
	if err != nil {
		t.Fatalf("SecretKey does not parse: %v", err)
	}
	if k.TokenURL() != s.UAAURL()+"/oauth/token" || k.APIEndpoint != s.APIURL() || k.ClientSecret() != s.secret {
		t.Fatalf("secret key points elsewhere: %s %s", k.TokenURL(), k.APIEndpoint)
	}
}

func TestSink(t *testing.T) {
	s := Start(t, Options{})
	sink := StartSink(t, s.CA)
	s.SetTokenHandler(http.RedirectHandler(sink.URL+"/oauth/token", http.StatusFound))
	resp, err := client(s, nil).PostForm(s.UAAURL()+"/oauth/token", secretForm(s))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || sink.Hits() != 0 {
		t.Fatalf("redirect: HTTP %d, sink hits %d", resp.StatusCode, sink.Hits())
	}
	resp, err = client(s, nil).Get(sink.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sink.Hits() != 1 {
		t.Fatalf("sink hits %d, want 1", sink.Hits())
	}
}

// Delay holds each request before it is answered; a client that gives up
// first gets nothing.
func TestDelay(t *testing.T) {
	const d = 150 * time.Millisecond
	s := Start(t, Options{Delay: d})
	c := client(s, nil)
	start := time.Now()
	code, tr := postToken(t, c, s.UAAURL()+"/oauth/token", secretForm(s))
	if took := time.Since(start); code != 200 || took < d {
		t.Fatalf("token: HTTP %d after %v, want 200 after at least %v", code, took, d)
	}
	start = time.Now()
	if code := getProjects(t, c, s, tr.AccessToken); code != 200 || time.Since(start) < d {
		t.Fatalf("API: HTTP %d after %v", code, time.Since(start))
	}
	c.Timeout = d / 3
	if _, err := c.PostForm(s.UAAURL()+"/oauth/token", secretForm(s)); err == nil {
		t.Error("a request that gave up before the delay got an answer")
	}
}
