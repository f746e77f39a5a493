package almtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// childKeyEnv carries a key to a copy of the test binary that runs one logon
// with a fresh process environment (Go reads SSL_CERT_FILE once per process).
const childKeyEnv = "CALMKEY_ALMTEST_CHILD_KEY"

func TestMain(m *testing.M) {
	if data := os.Getenv(childKeyEnv); data != "" {
		os.Exit(child(data))
	}
	os.Exit(m.Run())
}

func child(data string) int {
	k, err := vault.Parse([]byte(data))
	if err != nil {
		return 3
	}
	r := Run(context.Background(), k, Options{Timeout: 10 * time.Second})
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 4
	}
	return 0
}

// TestSSLCertFile runs a logon with no RootCAs option in a child process:
// with SSL_CERT_FILE naming the servers' CA the certificates are trusted,
// without it they are not.
func TestSSLCertFile(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, srv.CA.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	emptyDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	runChild := func(extra ...string) *Report {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childKeyEnv+"="+string(srv.SecretKey()), "SSL_CERT_DIR="+emptyDir)
		cmd.Env = append(cmd.Env, extra...)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = io.Discard
		if err := cmd.Run(); err != nil {
			t.Fatalf("child run: %v", err)
		}
		var r Report
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("child output is not a report (%d bytes): %v", out.Len(), err)
		}
		return &r
	}

	r := runChild("SSL_CERT_FILE=" + caFile)
	if !r.OK {
		t.Fatalf("with SSL_CERT_FILE naming the CA, logon should work:\n%s", r)
	}
	r = runChild("SSL_CERT_FILE=" + filepath.Join(dir, "missing.pem"))
	want(t, r, StepToken, StatusFail, []string{"not trusted"}, []string{"SSL_CERT_FILE"})
}

// connectProxy is a forward proxy for https: it answers CONNECT by tunnelling
// to the loopback port named, whatever the host, so that names no DNS knows
// work through it as through a real proxy that resolves them.
type connectProxy struct {
	*httptest.Server
	mu      sync.Mutex
	targets []string
	certs   int // CONNECTs that came with a client certificate (https proxies)
	answer  int // CONNECT's status; 0 means 200 and tunnel
}

func startProxy(t *testing.T, answer int) *connectProxy {
	t.Helper()
	p := newProxy(answer)
	p.Start()
	t.Cleanup(p.Close)
	return p
}

// startTLSProxy is an https proxy (HTTPS_PROXY=https://...) with a
// certificate from ca. It asks every client for a certificate, as a proxy
// that authenticates clients would, and counts those offered.
func startTLSProxy(t *testing.T, ca *testkeys.CA) *connectProxy {
	t.Helper()
	p := newProxy(0)
	p.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.TLS = &tls.Config{
		Certificates: []tls.Certificate{ca.ServerTLS(t, "127.0.0.1")},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	p.StartTLS()
	t.Cleanup(p.Close)
	return p
}

func newProxy(answer int) *connectProxy {
	p := &connectProxy{answer: answer}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.mu.Lock()
		p.targets = append(p.targets, r.Host)
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			p.certs++
		}
		p.mu.Unlock()
		if p.answer != 0 {
			w.WriteHeader(p.answer)
			return
		}
		_, port, err := net.SplitHostPort(r.Host)
		if err != nil {
			http.Error(w, "bad target", http.StatusBadRequest)
			return
		}
		up, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			http.Error(w, "cannot reach target", http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() {
			defer up.Close()
			defer conn.Close()
			go func() { _, _ = io.Copy(up, buf) }()
			_, _ = io.Copy(conn, up)
		}()
	}))
	return p
}

// offeredCerts is how many CONNECTs came with a client certificate.
func (p *connectProxy) offeredCerts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.certs
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func setProxyEnv(t *testing.T, proxy, noProxy string) {
	t.Setenv("HTTPS_PROXY", proxy)
	t.Setenv("https_proxy", proxy)
	t.Setenv("NO_PROXY", noProxy)
	t.Setenv("no_proxy", noProxy)
}

func TestProxyFromEnvironment(t *testing.T) {
	// Names that resolve nowhere: only the proxy can get the run there.
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	proxy := startProxy(t, 0)
	key := parse(t, srv.SecretKey())
	opts := Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second}

	setProxyEnv(t, proxy.URL, "")
	r := Run(context.Background(), key, opts)
	if !r.OK {
		t.Fatalf("through HTTPS_PROXY the logon should work:\n%s", r)
	}
	seen := proxy.seen()
	if len(seen) != 2 || seen[0] != fakealm.Host(srv.UAAURL()) || seen[1] != fakealm.Host(srv.APIURL()) {
		t.Fatalf("proxy tunnelled to %q; want the token host, then the API host", seen)
	}

	// NO_PROXY takes the hosts off the proxy: now the name must resolve, and
	// does not.
	setProxyEnv(t, proxy.URL, "calmkey.test")
	r = Run(context.Background(), key, opts)
	want(t, r, StepToken, StatusFail, []string{"alm.calmkey.test", "cannot be"}, nil)
	if n := len(proxy.seen()); n != 2 {
		t.Fatalf("NO_PROXY ignored: the proxy saw %d tunnels", n)
	}
}

func TestProxyRefusals(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	key := parse(t, srv.SecretKey())
	opts := Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second}

	auth := startProxy(t, http.StatusProxyAuthRequired)
	setProxyEnv(t, auth.URL, "")
	r := Run(context.Background(), key, opts)
	want(t, r, StepToken, StatusFail, []string{"proxy " + fakealm.Host(auth.URL), "407"}, []string{"user name and password", "HTTPS_PROXY"})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := l.Addr().String()
	l.Close()
	setProxyEnv(t, "http://"+gone, "")
	r = Run(context.Background(), key, opts)
	want(t, r, StepToken, StatusFail, []string{"proxy " + gone, "refused"}, []string{"HTTPS_PROXY"})
	if c := srv.Counts(); c.UAA != 0 {
		t.Fatal("no request can have reached the server")
	}

	// An https proxy whose certificate is not trusted is named as such,
	// and nothing passes it.
	untrusted := startTLSProxy(t, testkeys.NewCA(t))
	setProxyEnv(t, untrusted.URL, "")
	r = Run(context.Background(), key, opts)
	want(t, r, StepToken, StatusFail, []string{"certificate of the proxy " + fakealm.Host(untrusted.URL), "cannot be verified"}, []string{"https proxy", "SSL_CERT_FILE"})
	if len(untrusted.seen()) != 0 || srv.Counts().UAA != 0 {
		t.Fatal("a request went through a proxy whose certificate failed")
	}

	// Go ignores a malformed setting and goes direct; the hint says so,
	// without quoting the setting: it may hold a password.
	setProxyEnv(t, "http://user:hunter2@proxy\x7f:3128", "")
	r = Run(context.Background(), key, opts)
	s := want(t, r, StepToken, StatusFail, []string{"alm.calmkey.test"}, []string{"HTTPS_PROXY is set but is not a valid URL"})
	if strings.Contains(r.String(), "hunter2") {
		t.Fatalf("the proxy password shows: %s", s.Detail)
	}
}

// TestNoWayToSkipCertificateChecks keeps the promise that no code path, test
// helper included, turns certificate verification off.
func TestNoWayToSkipCertificateChecks(t *testing.T) {
	banned := "Insecure" + "SkipVerify"
	files, _ := filepath.Glob("*.go")
	more, _ := filepath.Glob("../internal/fakealm/*.go")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found only %d source files to check", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), banned) {
			t.Errorf("%s mentions %s", f, banned)
		}
	}
}

// TestClientCertificateOnlyToTokenHost runs an x509 logon through an https
// proxy, which asks for client certificates, and through a plain one: the
// certificate goes to the token host inside the tunnel, never to the proxy
// in its own handshake, and never to the API host.
func TestClientCertificateOnlyToTokenHost(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test", KeyAlg: testkeys.ECDSA})
	opts := Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second}
	tlsProxy := startTLSProxy(t, srv.CA)
	plainProxy := startProxy(t, 0)
	for _, c := range []struct {
		name  string
		proxy *connectProxy
	}{{"https proxy", tlsProxy}, {"http proxy", plainProxy}} {
		for _, kind := range []string{"x509", "secret"} {
			data := srv.X509Key()
			if kind == "secret" {
				data = srv.SecretKey()
			}
			srv.Reset()
			before := len(c.proxy.seen())
			setProxyEnv(t, c.proxy.URL, "")
			r := Run(context.Background(), parse(t, data), opts)
			if !r.OK {
				t.Fatalf("%s, %s key: logon should work:\n%s", c.name, kind, r)
			}
			if n := len(c.proxy.seen()) - before; n != 2 {
				t.Fatalf("%s, %s key: the proxy tunnelled %d connections, want 2", c.name, kind, n)
			}
			reqs := srv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%s, %s key: servers saw %+v", c.name, kind, reqs)
			}
			tok, api := reqs[0], reqs[1]
			if kind == "x509" && (tok.Endpoint != fakealm.EndpointCert || !tok.ClientCert || tok.ClientCertCN == "") {
				t.Fatalf("%s: the token host did not get the client certificate: %+v", c.name, tok)
			}
			if kind == "secret" && tok.ClientCert {
				t.Fatalf("%s: a secret key offered a client certificate: %+v", c.name, tok)
			}
			if api.ClientCert {
				t.Fatalf("%s, %s key: the API host was offered the client certificate", c.name, kind)
			}
		}
	}
	if n := tlsProxy.offeredCerts(); n != 0 {
		t.Fatalf("the https proxy was offered a client certificate in %d of %d handshakes", n, len(tlsProxy.seen()))
	}
	if len(tlsProxy.seen()) != 4 {
		t.Fatalf("the https proxy saw %d CONNECTs, want 4", len(tlsProxy.seen()))
	}
}
