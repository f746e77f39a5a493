package netroute

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeProxy is an HTTP proxy on loopback that records each CONNECT and
// maps the test servers' host names to their loopback ports. decide says
// how to answer a CONNECT: the status, the headers, and whether to close
// the connection after the answer; nil lets every CONNECT through.
type fakeProxy struct {
	t      *testing.T
	ln     net.Listener
	addr   string // host:port to reach it by
	hosts  map[string]string
	decide func(conn, round int, req *http.Request) (status int, h http.Header, closeAfter bool)
	// hangUp: close the connection as soon as a CONNECT arrives.
	hangUp bool

	mu       sync.Mutex
	conns    int
	connects []string // "conn/round CONNECT target auth-scheme"
	auths    []string // the Proxy-Authorization headers, as sent
	// peerCerts counts client certificates the proxy saw (an https proxy).
	peerCerts int
}

func newFakeProxy(t *testing.T, hosts map[string]string, tlsCfg *tls.Config) *fakeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p := &fakeProxy{t: t, ln: ln, addr: net.JoinHostPort("localhost", port), hosts: hosts}
	go p.serve()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *fakeProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns++
		n := p.conns
		p.mu.Unlock()
		go p.handle(n, c)
	}
}

func (p *fakeProxy) handle(n int, c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if tc, ok := c.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			return
		}
		p.mu.Lock()
		p.peerCerts += len(tc.ConnectionState().PeerCertificates)
		p.mu.Unlock()
	}
	br := bufio.NewReader(c)
	for round := 1; ; round++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		auth := req.Header.Get("Proxy-Authorization")
		scheme, _, _ := strings.Cut(auth, " ")
		p.mu.Lock()
		p.connects = append(p.connects, fmt.Sprintf("%d/%d %s %s %s", n, round, req.Method, req.Host, scheme))
		p.auths = append(p.auths, auth)
		p.mu.Unlock()
		if p.hangUp {
			return
		}
		status, h, closeAfter := http.StatusOK, http.Header{}, false
		if p.decide != nil {
			status, h, closeAfter = p.decide(n, round, req)
		}
		if req.Method != http.MethodConnect {
			status = http.StatusMethodNotAllowed
		}
		if status != http.StatusOK {
			body := "<html>no</html>"
			h.Set("Content-Length", fmt.Sprint(len(body)))
			if closeAfter {
				h.Set("Connection", "close")
			}
			fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
			h.Write(c)
			fmt.Fprintf(c, "\r\n%s", body)
			if closeAfter {
				return
			}
			continue
		}
		to, ok := p.hosts[req.Host]
		if !ok {
			fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		up, err := net.Dial("tcp", to)
		if err != nil {
			fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		c.SetDeadline(time.Time{})
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
		go func() { io.Copy(c, up); done <- struct{}{} }()
		<-done
		<-done
		up.Close()
		return
	}
}

func (p *fakeProxy) seen() (connects, auths []string, conns int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...), append([]string(nil), p.auths...), p.conns
}

// almServer is an https test server named alm.example.com (httptest's
// certificate covers *.example.com).
func almServer(t *testing.T, clientCA *x509.CertPool) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			who = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "hello %s", who)
	}))
	if clientCA != nil {
		s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return s, pool
}

func hostPort(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "https://") }

// client is an http.Client that dials through d, as almtest's does.
func client(d *Dialer, roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:             nil,
		DialContext:       d.DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: certs},
		DisableKeepAlives: true,
	}, Timeout: 10 * time.Second}
}

func proxyDialer(t *testing.T, proxyURL string, neg NegotiateFunc) *Dialer {
	t.Helper()
	r, err := New(Options{Proxy: proxyURL, Getenv: env()})
	if err != nil {
		t.Fatal(err)
	}
	return &Dialer{Resolver: r, Timeout: 5 * time.Second, Negotiate: neg}
}

// errText is every error's text in the chain, for secrecy checks.
func errText(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		b.WriteString("\n")
	}
	return b.String()
}

func TestTunnelTLS(t *testing.T) {
	srv, roots := almServer(t, nil)
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, nil)
	d := proxyDialer(t, "http://"+p.addr, nil)
	var routes []Route
	d.Observe = func(r Route) { routes = append(routes, r) }
	resp, err := client(d, roots).Get("https://alm.example.com/api")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello anonymous" {
		t.Errorf("body %q", body)
	}
	connects, auths, _ := p.seen()
	if len(connects) != 1 || connects[0] != "1/1 CONNECT alm.example.com:443 " || auths[0] != "" {
		t.Errorf("proxy saw %q %q", connects, auths)
	}
	if len(routes) != 1 || routes[0].Proxy != p.addr {
		t.Errorf("routes %v", routes)
	}
}

func TestTunnelMTLSThroughHTTPSProxy(t *testing.T) {
	cert, ca := clientCert(t)
	srv, roots := almServer(t, ca)
	// The proxy speaks TLS itself and asks for a client certificate: it
	// must never get the key's.
	proxyTLS := &tls.Config{Certificates: srv.TLS.Certificates, ClientAuth: tls.RequestClientCert}
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, proxyTLS)
	// httptest's certificate names 127.0.0.1, so the proxy goes by it.
	d := proxyDialer(t, "https://"+strings.Replace(p.addr, "localhost", "127.0.0.1", 1), nil)
	d.RootCAs = roots
	resp, err := client(d, roots, cert).Get("https://alm.example.com/token")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello calmkey-client" {
		t.Errorf("body %q", body)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peerCerts != 0 {
		t.Error("the client certificate was offered to the proxy")
	}
}

func TestBasic(t *testing.T) {
	srv, roots := almServer(t, nil)
	const user, pass = "corp\\alice", "p@ss:w/rd$"
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, nil)
	p.decide = func(_, _ int, req *http.Request) (int, http.Header, bool) {
		if req.Header.Get("Proxy-Authorization") == want {
			return http.StatusOK, nil, false
		}
		return http.StatusProxyAuthRequired, http.Header{"Proxy-Authenticate": {`Basic realm="corp"`}}, false
	}
	proxyURL := "http://corp%5Calice:p%40ss%3Aw%2Frd$@" + p.addr

	t.Run("right password, sent at once", func(t *testing.T) {
		resp, err := client(proxyDialer(t, proxyURL, nil), roots).Get("https://alm.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		connects, _, _ := p.seen()
		if len(connects) != 1 || !strings.HasSuffix(connects[0], " Basic") {
			t.Errorf("proxy saw %q", connects)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := client(proxyDialer(t, "http://alice:wr0ngpass@"+p.addr, nil), roots).Get("https://alm.example.com/")
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Tried != "Basic" || len(ae.Offered) != 1 || ae.Offered[0] != "Basic" {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(errText(err), "wr0ngpass") {
			t.Errorf("the password shows: %s", errText(err))
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		_, err := client(proxyDialer(t, "http://"+p.addr, nil), roots).Get("https://alm.example.com/")
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Tried != "" || ae.Proxy != p.addr {
			t.Fatalf("err = %v", err)
		}
		var re *RouteError
		if !errors.As(err, &re) || re.Route.Proxy != p.addr {
			t.Errorf("no route with the error: %v", err)
		}
	})
}

// fakeNegotiate answers a two-round Negotiate: "tok1", then "tok2" for the
// challenge "chal1".
type fakeNegotiate struct {
	mu         sync.Mutex
	spns       []string
	challenges []string
	closed     int
	failAt     int // the round whose Token fails, 0 none
}

func (f *fakeNegotiate) start(spn string) (TokenSource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spns = append(f.spns, spn)
	return &fakeNegSource{f: f}, nil
}

type fakeNegSource struct {
	f     *fakeNegotiate
	round int
}

func (s *fakeNegSource) Token(challenge []byte) ([]byte, error) {
	s.round++
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.round == s.f.failAt {
		return nil, syscall.Errno(0x80090311) // SEC_E_NO_AUTHENTICATING_AUTHORITY
	}
	if challenge != nil {
		s.f.challenges = append(s.f.challenges, string(challenge))
	}
	return fmt.Appendf(nil, "tok%d", s.round), nil
}

func (s *fakeNegSource) Close() error {
	s.f.mu.Lock()
	s.f.closed++
	s.f.mu.Unlock()
	return nil
}

func negotiateProxy(t *testing.T, srv *httptest.Server, accept string) *fakeProxy {
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, nil)
	b64 := base64.StdEncoding.EncodeToString
	p.decide = func(_, _ int, req *http.Request) (int, http.Header, bool) {
		switch req.Header.Get("Proxy-Authorization") {
		case "":
			return http.StatusProxyAuthRequired, http.Header{"Proxy-Authenticate": {"Negotiate", `Basic realm="corp"`}}, false
		case "Negotiate " + b64([]byte("tok1")):
			return http.StatusProxyAuthRequired, http.Header{"Proxy-Authenticate": {"Negotiate " + b64([]byte("chal1"))}}, false
		case "Negotiate " + b64([]byte(accept)):
			return http.StatusOK, nil, false
		}
		return http.StatusProxyAuthRequired, http.Header{"Proxy-Authenticate": {"Negotiate"}}, false
	}
	return p
}

func TestNegotiateTwoRounds(t *testing.T) {
	srv, roots := almServer(t, nil)
	p := negotiateProxy(t, srv, "tok2")
	neg := &fakeNegotiate{}
	resp, err := client(proxyDialer(t, "http://"+p.addr, neg.start), roots).Get("https://alm.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	connects, _, conns := p.seen()
	want := []string{
		"1/1 CONNECT alm.example.com:443 ",
		"1/2 CONNECT alm.example.com:443 Negotiate",
		"1/3 CONNECT alm.example.com:443 Negotiate",
	}
	if strings.Join(connects, "|") != strings.Join(want, "|") || conns != 1 {
		t.Errorf("proxy saw %q on %d connections, want %q on one", connects, conns, want)
	}
	if len(neg.spns) != 1 || neg.spns[0] != "HTTP/localhost" {
		t.Errorf("SPNs %q", neg.spns)
	}
	if len(neg.challenges) != 1 || neg.challenges[0] != "chal1" || neg.closed != 1 {
		t.Errorf("challenges %q, closed %d", neg.challenges, neg.closed)
	}
}

func TestNegotiateFails(t *testing.T) {
	srv, roots := almServer(t, nil)
	t.Run("the proxy rejects the last token", func(t *testing.T) {
		p := negotiateProxy(t, srv, "never")
		_, err := client(proxyDialer(t, "http://"+p.addr, (&fakeNegotiate{}).start), roots).Get("https://alm.example.com/")
		var ne *NegotiateError
		if !errors.As(err, &ne) || ne.SPN != "HTTP/localhost" || !errors.Is(err, ErrRejected) {
			t.Fatalf("err = %v", err)
		}
		for _, tok := range []string{"tok1", "tok2", base64.StdEncoding.EncodeToString([]byte("tok2"))} {
			if strings.Contains(errText(err), tok) {
				t.Errorf("a token shows: %s", errText(err))
			}
		}
	})
	t.Run("SSPI cannot make a token", func(t *testing.T) {
		p := negotiateProxy(t, srv, "tok2")
		_, err := client(proxyDialer(t, "http://"+p.addr, (&fakeNegotiate{failAt: 2}).start), roots).Get("https://alm.example.com/")
		var ne *NegotiateError
		if !errors.As(err, &ne) || ne.SPN != "HTTP/localhost" || !strings.Contains(err.Error(), "SPN HTTP/localhost") {
			t.Fatalf("err = %v", err)
		}
		var en syscall.Errno
		if !errors.As(err, &en) || en != 0x80090311 {
			t.Errorf("the SSPI code is lost: %v", err)
		}
	})
	t.Run("no Negotiate here (Linux): the offered schemes are named", func(t *testing.T) {
		p := negotiateProxy(t, srv, "tok2")
		d := proxyDialer(t, "http://"+p.addr, nil)
		d.Negotiate = func(string) (TokenSource, error) { return nil, errors.New("no SSPI") }
		if platformNegotiate == nil {
			d.Negotiate = nil
		}
		_, err := client(d, roots).Get("https://alm.example.com/")
		var ae *AuthError
		var ne *NegotiateError
		if !errors.As(err, &ae) && !errors.As(err, &ne) {
			t.Fatalf("err = %v", err)
		}
		if ae != nil && strings.Join(ae.Offered, ",") != "Negotiate,Basic" {
			t.Errorf("offered %q", ae.Offered)
		}
	})
}

func TestNoSchemeWeHave(t *testing.T) {
	srv, roots := almServer(t, nil)
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, nil)
	p.decide = func(int, int, *http.Request) (int, http.Header, bool) {
		return http.StatusProxyAuthRequired, http.Header{"Proxy-Authenticate": {"NTLM", `Digest realm="corp", nonce="abc", qop="auth"`}}, false
	}
	_, err := client(proxyDialer(t, "http://u:pw@"+p.addr, (&fakeNegotiate{}).start), roots).Get("https://alm.example.com/")
	var ae *AuthError
	if !errors.As(err, &ae) || strings.Join(ae.Offered, ",") != "NTLM,Digest" || ae.Tried != "Basic" {
		t.Fatalf("err = %v (%+v)", err, ae)
	}
	if want := "the proxy " + p.addr + " did not accept Basic authentication (HTTP 407; it offers NTLM, Digest)"; ae.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestConnectRefused(t *testing.T) {
	srv, roots := almServer(t, nil)
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, nil)
	p.decide = func(int, int, *http.Request) (int, http.Header, bool) {
		return http.StatusForbidden, http.Header{}, false
	}
	_, err := client(proxyDialer(t, "http://"+p.addr, nil), roots).Get("https://alm.example.com/")
	var re *RefusedError
	if !errors.As(err, &re) || re.Status != http.StatusForbidden || re.Target != "alm.example.com:443" {
		t.Fatalf("err = %v", err)
	}
}

func TestProxyCloses(t *testing.T) {
	srv, roots := almServer(t, nil)
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, nil)
	p.hangUp = true
	_, err := client(proxyDialer(t, "http://"+p.addr, nil), roots).Get("https://alm.example.com/")
	var ce *ClosedError
	if !errors.As(err, &ce) || ce.Proxy != p.addr {
		t.Fatalf("err = %v", err)
	}
}

func TestProxyClosesBetweenRounds(t *testing.T) {
	// A proxy that closes after its 407: the next round goes on a new
	// connection (Basic and Kerberos survive that).
	srv, roots := almServer(t, nil)
	p := newFakeProxy(t, map[string]string{"alm.example.com:443": hostPort(srv)}, nil)
	p.decide = func(_, _ int, req *http.Request) (int, http.Header, bool) {
		if strings.HasPrefix(req.Header.Get("Proxy-Authorization"), "Negotiate ") {
			return http.StatusOK, nil, false
		}
		return http.StatusProxyAuthRequired, http.Header{"Proxy-Authenticate": {"Negotiate"}}, true
	}
	resp, err := client(proxyDialer(t, "http://"+p.addr, (&fakeNegotiate{}).start), roots).Get("https://alm.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, _, conns := p.seen(); conns != 2 {
		t.Errorf("%d connections", conns)
	}
}

func TestProxyUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, roots := almServer(t, nil)
	_, err = client(proxyDialer(t, "http://"+addr, nil), roots).Get("https://alm.example.com/")
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Proxy != addr || !isRefused(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestDialHonoursContext(t *testing.T) {
	// A proxy that accepts and never answers: the caller's deadline ends
	// the wait.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	d := proxyDialer(t, "http://"+ln.Addr().String(), nil)
	d.Timeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.DialContext(ctx, "tcp", "alm.example.com:443")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v, not a timeout", err)
	}
}

func TestDirectDial(t *testing.T) {
	srv, roots := almServer(t, nil)
	r, _ := New(Options{Getenv: env()})
	d := &Dialer{Resolver: r}
	var seen Route
	d.Observe = func(rt Route) { seen = rt }
	// Loopback: never proxied.
	resp, err := client(d, roots).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen.Kind != Direct || seen.Source != SourceLoopback {
		t.Errorf("route %v", seen)
	}
}

// clientCert is a client certificate (CN calmkey-client) and the pool of
// its self-signed CA, as an x509 key's.
func clientCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "calmkey-client"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: c}, pool
}

func TestSchemes(t *testing.T) {
	offered, chal := schemes([]string{`Basic realm="corp, inc", charset="UTF-8"`, "NTLM, Negotiate dG9r", `Digest realm="x", nonce="a,b"`})
	if strings.Join(offered, ",") != "Basic,NTLM,Negotiate,Digest" || string(chal) != "tok" {
		t.Errorf("offered %q, challenge %q", offered, chal)
	}
}
