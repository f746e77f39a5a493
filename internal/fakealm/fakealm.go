// Package fakealm runs loopback HTTPS servers shaped like the ones a service
// key logs on to: XSUAA's token endpoint (uaa.url), its mutual-TLS twin
// (uaa.certurl) and the SAP Cloud ALM API (endpoints.Api). Tests of almtest,
// calmkeyctl and the ui use it to log on for real, over TLS, without leaving
// the machine.
//
// The servers behave like the real ones where a client could get it wrong:
// the token endpoints take POST only (GET gets 405) and read the credentials
// from the form body only, reject bad ones with XSUAA's 401 body, and the API
// checks the bearer token and answers 403 to a token without ReadScope.
package fakealm

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// ReadScope is the scope the API asks for to list projects.
const ReadScope = "calm-api.projects.read"

// DefaultScopes are what tokens carry unless Options.Scopes says otherwise.
var DefaultScopes = []string{"uaa.resource", ReadScope, "calm-api.projects.write"}

// DefaultExpiresIn is XSUAA's usual token lifetime in seconds.
const DefaultExpiresIn = 43199

// ProjectsPath is the API path the logon test reads, below endpoints.Api.
const ProjectsPath = "/calm-projects/v1/projects"

// Options shape the servers. The zero value gives servers that accept both
// keys and grant DefaultScopes.
type Options struct {
	// Scopes granted to every token; nil means DefaultScopes. An empty,
	// non-nil slice grants none.
	Scopes []string
	// ExpiresIn is the token lifetime in seconds; 0 means DefaultExpiresIn.
	ExpiresIn int
	// KeyAlg is the x509 key's private key kind; the zero value is RSA
	// PKCS#1, what SAP issues.
	KeyAlg testkeys.Alg
	// CertNotAfter ends the x509 key's client certificate; zero means in
	// 90 days (no expiry warning from vault).
	CertNotAfter time.Time
	// Host is the name the keys' URLs use and the server certificates
	// carry, instead of 127.0.0.1. It must resolve to the loopback, or be
	// reached through a proxy that maps it there.
	Host string
	// Delay holds every request this long before it is answered, as a
	// distant region's servers do (SAP Cloud ALM in another continent).
	Delay time.Duration
}

// Endpoint names a server in Request and Counts.
const (
	EndpointUAA  = "uaa"  // uaa.url: token for secret keys
	EndpointCert = "cert" // uaa.certurl: token over mutual TLS for x509 keys
	EndpointAPI  = "api"  // endpoints.Api
)

// Request is what a server saw of one request; it holds no credential, only
// facts about where they were.
type Request struct {
	Endpoint     string
	Method       string
	Path         string
	ContentType  string
	GrantType    string
	ClientID     string // from the form body
	SecretInBody bool   // client_secret was in the form body
	SecretInURL  bool   // client_secret or client_id was in the query string
	BasicAuth    bool   // an Authorization: Basic header came
	Bearer       bool   // an Authorization: Bearer header came
	ClientCertCN string // common name of the verified client certificate
	// ClientCert: the client offered a certificate in the TLS handshake,
	// verified or not. Every server asks for one, so that a test can prove
	// which hosts a client certificate reaches.
	ClientCert bool
	Status     int
}

// Counts are the requests each server received.
type Counts struct{ UAA, Cert, API int }

// Server is the running set. Its fields are for tests that need more than the
// methods give; the servers close when the test ends.
type Server struct {
	UAA  *httptest.Server
	Cert *httptest.Server
	API  *httptest.Server
	CA   *testkeys.CA

	host       string
	clientID   string
	secret     string
	chainPEM   string
	keyPEM     string
	expiresIn  int
	clientCert *x509.Certificate

	mu        sync.Mutex
	scopes    []string
	rejectKey bool
	apiStatus int
	tokenHook http.Handler
	apiHook   http.Handler
	tokens    map[string]grant
	requests  []Request
}

type grant struct {
	scopes  []string
	expires time.Time
}

// Start runs the three servers until t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		CA:        testkeys.NewCA(t),
		host:      opts.Host,
		clientID:  testkeys.ClientID,
		secret:    testkeys.Secret,
		expiresIn: opts.ExpiresIn,
		scopes:    opts.Scopes,
		tokens:    map[string]grant{},
	}
	if s.scopes == nil {
		s.scopes = DefaultScopes
	}
	if s.expiresIn == 0 {
		s.expiresIn = DefaultExpiresIn
	}
	s.makeClientCert(t, opts.CertNotAfter, opts.KeyAlg)

	hosts := []string{"127.0.0.1", "localhost"}
	if opts.Host != "" {
		hosts = append([]string{opts.Host}, hosts...)
	}
	serverCert := s.CA.ServerTLS(t, hosts...)
	s.UAA = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.token(EndpointUAA, w, r) }), serverTLS(serverCert, nil), opts.Delay)
	s.Cert = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.token(EndpointCert, w, r) }), serverTLS(serverCert, s.CA.Pool), opts.Delay)
	s.API = serve(t, http.HandlerFunc(s.api), serverTLS(serverCert, nil), opts.Delay)
	return s
}

// makeClientCert issues the x509 keys' client certificate, valid until
// notAfter (90 days from now when zero).
func (s *Server) makeClientCert(t testing.TB, notAfter time.Time, alg testkeys.Alg) {
	t.Helper()
	if notAfter.IsZero() {
		notAfter = time.Now().Add(90 * 24 * time.Hour)
	}
	s.chainPEM, s.keyPEM = s.CA.Client(t, "calmkey-test-client", notAfter, alg)
	pair, err := tls.X509KeyPair([]byte(s.chainPEM), []byte(s.keyPEM))
	if err != nil {
		t.Fatalf("fakealm: client certificate: %v", err)
	}
	s.clientCert = pair.Leaf
}

// serverTLS is a server's TLS config. Every server asks for a client
// certificate, to record whether one came; only certurl's verifies it,
// against clientCAs. The others accept any, as a server that merely asks
// would: offering one there is the client's mistake, which
// Request.ClientCert shows.
func serverTLS(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert}
	if clientCAs != nil {
		// IfGiven, not Require: XSUAA answers a request without a
		// certificate with 401, which is what a client must handle.
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		cfg.ClientCAs = clientCAs
	}
	return cfg
}

// serve runs h over TLS until t ends, each request held delay first (a
// client that gives up meanwhile gets nothing).
func serve(t testing.TB, h http.Handler, cfg *tls.Config, delay time.Duration) *httptest.Server {
	if delay > 0 {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(delay):
				inner.ServeHTTP(w, r)
			case <-r.Context().Done():
			}
		})
	}
	srv := httptest.NewUnstartedServer(h)
	// Clients that reject our certificate are a test's point, not noise.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// RootCAs trusts the servers' certificates.
func (s *Server) RootCAs() *x509.CertPool { return s.CA.Pool }

func (s *Server) url(srv *httptest.Server) string {
	if s.host == "" {
		return srv.URL
	}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "https://" + net.JoinHostPort(s.host, port)
}

// UAAURL is uaa.url, CertURL uaa.certurl, APIURL endpoints.Api.
func (s *Server) UAAURL() string  { return s.url(s.UAA) }
func (s *Server) CertURL() string { return s.url(s.Cert) }
func (s *Server) APIURL() string  { return s.url(s.API) + "/api" }

// SecretKey is a binding-secret key that logs on to these servers.
func (s *Server) SecretKey() []byte { return s.SecretKeyWith(testkeys.Fields{}) }

// X509Key is an x509 key that logs on to these servers.
func (s *Server) X509Key() []byte { return s.X509KeyWith(testkeys.Fields{}) }

// SecretKeyWith is SecretKey with some fields changed; empty fields take the
// servers' URLs and the accepted client id and secret.
func (s *Server) SecretKeyWith(f testkeys.Fields) []byte {
	return testkeys.SecretKey(s.fill(f))
}

// X509KeyWith is X509Key with some fields changed, like SecretKeyWith.
func (s *Server) X509KeyWith(f testkeys.Fields) []byte {
	return testkeys.X509Key(s.fill(f), s.chainPEM, s.keyPEM)
}

func (s *Server) fill(f testkeys.Fields) testkeys.Fields {
	if f.UAAURL == "" {
		f.UAAURL = s.UAAURL()
	}
	if f.CertURL == "" {
		f.CertURL = s.CertURL()
	}
	if f.APIURL == "" {
		f.APIURL = s.APIURL()
	}
	if f.ClientID == "" {
		f.ClientID = s.clientID
	}
	if f.Secret == "" {
		f.Secret = s.secret
	}
	return f
}

// ClientPEM returns the x509 key's certificate chain and private key, for
// tests that build their own keys or scan output for the key.
func (s *Server) ClientPEM() (chainPEM, keyPEM string) { return s.chainPEM, s.keyPEM }

// RejectKey makes both token endpoints answer 401 Bad credentials, as XSUAA
// does once the key or its instance was deleted in the BTP cockpit.
func (s *Server) RejectKey(reject bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectKey = reject
}

// SetAPIStatus makes the API answer every request with code (401, 403, 500,
// ...) and a JSON error body; 0 restores the real checks.
func (s *Server) SetAPIStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiStatus = code
}

// SetScopes sets the scopes of tokens issued from now on.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = slices.Clone(scopes)
}

// SetTokenHandler lets h answer both token endpoints (after the request is
// counted), for faults the options do not cover; nil restores the real one.
func (s *Server) SetTokenHandler(h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenHook = h
}

// SetAPIHandler lets h answer the API, like SetTokenHandler.
func (s *Server) SetAPIHandler(h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiHook = h
}

// Requests returns what the servers saw, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Tokens returns the access tokens issued so far, for tests that prove a
// token never shows up where it must not.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

// Counts returns how many requests each server received.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Counts
	for _, r := range s.requests {
		switch r.Endpoint {
		case EndpointUAA:
			c.UAA++
		case EndpointCert:
			c.Cert++
		case EndpointAPI:
			c.API++
		}
	}
	return c
}

// Reset forgets the requests seen so far (benchmarks would pile them up).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) record(rq Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rq)
}

// statusRecorder keeps the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets a hook hijack the connection (http.ResponseController), to
// answer with bytes net/http would not send.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, code int, errCode, desc string) {
	writeJSON(w, code, map[string]string{"error": errCode, "error_description": desc})
}

func (s *Server) token(endpoint string, w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	rq := seeTokenRequest(endpoint, r)
	defer func() {
		rq.Status = rec.status
		s.record(rq)
	}()

	s.mu.Lock()
	hook, reject := s.tokenHook, s.rejectKey
	s.mu.Unlock()
	if hook != nil {
		hook.ServeHTTP(rec, r)
		return
	}

	if r.URL.Path != "/oauth/token" {
		oauthError(rec, http.StatusNotFound, "not_found", "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		rec.Header().Set("Allow", http.MethodPost)
		oauthError(rec, http.StatusMethodNotAllowed, "method_not_allowed", "Request method '"+r.Method+"' is not supported")
		return
	}
	id := r.PostForm.Get("client_id")
	if id == "" {
		oauthError(rec, http.StatusUnauthorized, "unauthorized", "Full authentication is required to access this resource")
		return
	}
	ok := !reject && subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID)) == 1
	if endpoint == EndpointCert {
		ok = ok && rq.ClientCertCN == s.clientCert.Subject.CommonName
	} else {
		ok = ok && subtle.ConstantTimeCompare([]byte(r.PostForm.Get("client_secret")), []byte(s.secret)) == 1
	}
	if !ok {
		oauthError(rec, http.StatusUnauthorized, "unauthorized", "Bad credentials")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(rec, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+gt)
		return
	}
	s.issue(rec)
}

// seeTokenRequest is what a test may ask about a token request: how it
// carried the credentials and which certificate came with it. It parses
// the form of a POST.
func seeTokenRequest(endpoint string, r *http.Request) Request {
	rq := Request{Endpoint: endpoint, Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type")}
	auth := strings.ToLower(r.Header.Get("Authorization"))
	rq.BasicAuth = strings.HasPrefix(auth, "basic ")
	rq.Bearer = strings.HasPrefix(auth, "bearer ")
	q := r.URL.Query()
	rq.SecretInURL = q.Has("client_secret") || q.Has("client_id")
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		rq.ClientCertCN = r.TLS.VerifiedChains[0][0].Subject.CommonName
	}
	rq.ClientCert = offeredCert(r)
	if r.Method == http.MethodPost {
		// PostForm only: XSUAA takes the credentials from the body, and a
		// client that puts them in the URL must not pass here.
		if mt, _, _ := mime.ParseMediaType(rq.ContentType); mt == "application/x-www-form-urlencoded" {
			_ = r.ParseForm()
		}
		rq.GrantType = r.PostForm.Get("grant_type")
		rq.ClientID = r.PostForm.Get("client_id")
		rq.SecretInBody = r.PostForm.Has("client_secret")
	}
	return rq
}

// offeredCert reports whether the client offered a certificate.
func offeredCert(r *http.Request) bool {
	return r.TLS != nil && len(r.TLS.PeerCertificates) > 0
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) issue(w http.ResponseWriter) {
	tok := "fake-" + randomString(32)
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	s.mu.Lock()
	scopes := slices.Clone(s.scopes)
	s.tokens[tok] = grant{scopes: scopes, expires: time.Now().Add(time.Duration(s.expiresIn) * time.Second)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "bearer",
		"expires_in":   s.expiresIn,
		"scope":        strings.Join(scopes, " "),
		"jti":          hex.EncodeToString(jti),
	})
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	rq := Request{Endpoint: EndpointAPI, Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), ClientCert: offeredCert(r)}
	auth := r.Header.Get("Authorization")
	rq.BasicAuth = strings.HasPrefix(strings.ToLower(auth), "basic ")
	rq.Bearer = strings.HasPrefix(strings.ToLower(auth), "bearer ")
	if r.URL.Query().Has("client_secret") {
		rq.SecretInURL = true
	}
	defer func() {
		rq.Status = rec.status
		s.record(rq)
	}()

	s.mu.Lock()
	hook, forced := s.apiHook, s.apiStatus
	s.mu.Unlock()
	if hook != nil {
		hook.ServeHTTP(rec, r)
		return
	}
	if forced != 0 {
		if forced == http.StatusUnauthorized {
			rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		writeJSON(rec, forced, map[string]any{"error": strings.ToLower(strings.ReplaceAll(http.StatusText(forced), " ", "_")), "status": forced})
		return
	}
	if r.URL.Path != "/api"+ProjectsPath {
		writeJSON(rec, http.StatusNotFound, map[string]any{"error": "not_found", "status": 404})
		return
	}
	if r.Method != http.MethodGet {
		rec.Header().Set("Allow", http.MethodGet)
		writeJSON(rec, http.StatusMethodNotAllowed, map[string]any{"error": "method_not_allowed", "status": 405})
		return
	}
	tok, found := strings.CutPrefix(auth, "Bearer ")
	if !found {
		tok, found = strings.CutPrefix(auth, "bearer ")
	}
	s.mu.Lock()
	g, known := s.tokens[tok]
	s.mu.Unlock()
	if !found || !known || time.Now().After(g.expires) {
		rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(rec, http.StatusUnauthorized, map[string]any{"error": "invalid_token", "status": 401})
		return
	}
	if !slices.Contains(g.scopes, ReadScope) {
		rec.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+ReadScope+`"`)
		writeJSON(rec, http.StatusForbidden, map[string]any{"error": "insufficient_scope", "status": 403})
		return
	}
	writeJSON(rec, http.StatusOK, []map[string]any{
		{"id": "9b2c0000-0000-4000-8000-000000000010", "name": "Demo project", "status": "active"},
	})
}

// Sink is a server that counts what reaches it and answers 200 with an
// empty JSON object. Tests point redirects at one to prove that a client
// sends nothing to a host outside the key.
type Sink struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

// StartSink runs a Sink with a certificate from ca until t ends.
func StartSink(t testing.TB, ca *testkeys.CA) *Sink {
	t.Helper()
	s := &Sink{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{})
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerTLS(t, "127.0.0.1", "localhost")}, MinVersion: tls.VersionTLS12}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// Hits is how many requests reached the sink.
func (s *Sink) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Host is the host:port of a URL, as a client's messages name it.
func Host(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}
