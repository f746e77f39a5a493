package netroute

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenSource makes the Negotiate tokens of one CONNECT: Token(nil) is the
// first, then Token(challenge) answers each challenge the proxy sends.
// Tokens are secrets for as long as they live: never show or log them.
type TokenSource interface {
	Token(challenge []byte) ([]byte, error)
	Close() error
}

// NegotiateFunc starts Negotiate for a service principal name.
type NegotiateFunc func(spn string) (TokenSource, error)

// Dialer makes connections along the routes its Resolver decides. Use its
// DialContext as an http.Transport's, with Proxy nil: net/http's own proxy
// path gives up at the first 407 and cannot keep one connection for
// NTLM's three messages. TLS with the host then runs inside the tunnel, so
// a client certificate goes to the host, never to the proxy.
type Dialer struct {
	Resolver *Resolver
	// Timeout bounds dialling together with CONNECT and its
	// authentication; 0 leaves it to ctx.
	Timeout time.Duration
	// RootCAs checks an https proxy's certificate; nil is the system's.
	RootCAs *x509.CertPool
	// Negotiate makes Negotiate tokens; nil is this platform's (Windows:
	// SSPI as the logged-in user; elsewhere none).
	Negotiate NegotiateFunc
	// Observe hears each route before it is dialled.
	Observe func(Route)
	// UserAgent is sent with CONNECT when set.
	UserAgent string
}

// errNoToken: Windows finished its side of Negotiate while the proxy
// still asks for more.
var errNoToken = errors.New("no further logon token came from Windows for the proxy")

// maxRounds bounds the 407 loop: Basic takes one, NTLM two, Kerberos one
// or two.
const maxRounds = 6

// maxProxyBody bounds what is read of a proxy's answer to CONNECT.
const maxProxyBody = 64 << 10

// DialContext connects to addr (host:port) along its route. Failures at
// the proxy are *UnreachableError, *AuthError, *NegotiateError,
// *RefusedError or *ClosedError; every failure comes wrapped in a
// *RouteError with the route.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, _, err := d.DialRoute(ctx, network, addr)
	return c, err
}

// DialRoute is DialContext that also returns the route taken.
func (d *Dialer) DialRoute(ctx context.Context, network, addr string) (net.Conn, Route, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, Route{}, err
	}
	rt := d.Resolver.Route(ctx, &url.URL{Scheme: "https", Host: addr})
	if d.Observe != nil {
		d.Observe(rt)
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	nd := &net.Dialer{KeepAlive: 30 * time.Second}
	if rt.Kind != Proxy {
		c, err := nd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, rt, &RouteError{rt, err}
		}
		return c, rt, nil
	}
	c, err := d.tunnel(ctx, nd, network, rt, addr)
	if err != nil {
		return nil, rt, &RouteError{rt, err}
	}
	return c, rt, nil
}

func (d *Dialer) dialProxy(ctx context.Context, nd *net.Dialer, network string, rt Route) (net.Conn, error) {
	var c net.Conn
	var err error
	if rt.TLS() {
		td := &tls.Dialer{NetDialer: nd, Config: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    d.RootCAs,
			ServerName: rt.ProxyHost(),
			NextProtos: []string{"http/1.1"},
		}}
		c, err = td.DialContext(ctx, network, rt.Proxy)
	} else {
		c, err = nd.DialContext(ctx, network, rt.Proxy)
	}
	if err != nil {
		return nil, &UnreachableError{Proxy: rt.Proxy, Err: err}
	}
	return c, nil
}

// tunnel dials the proxy and runs CONNECT, answering 407s on the same
// connection (on a new one only when the proxy closes it).
func (d *Dialer) tunnel(ctx context.Context, nd *net.Dialer, network string, rt Route, target string) (net.Conn, error) {
	pc := &proxyConn{}
	if err := pc.open(ctx, d, nd, network, rt); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			pc.close()
		}
	}()
	pa := &proxyAuth{d: d, rt: rt, spn: "HTTP/" + rt.ProxyHost()}
	defer pa.close()
	auth := pa.first()
	for round := 0; ; round++ {
		resp, err := d.connectOnce(pc.conn, pc.br, target, auth)
		if err != nil {
			return nil, answerError(ctx, rt, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			c, err := pc.hand(ctx)
			ok = err == nil
			return c, err
		}
		// The body is read so that the next CONNECT goes on the same
		// connection.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProxyBody))
		resp.Body.Close()
		if resp.StatusCode != http.StatusProxyAuthRequired {
			return nil, &RefusedError{Proxy: rt.Proxy, Target: target, Status: resp.StatusCode}
		}
		offered, challenge := schemes(resp.Header.Values("Proxy-Authenticate"))
		if round+1 >= maxRounds {
			return nil, &AuthError{Proxy: rt.Proxy, Offered: offered, Tried: pa.tried}
		}
		if auth, err = pa.next(offered, challenge); err != nil {
			return nil, err
		}
		if resp.Close {
			// Kerberos survives a new connection; NTLM does not, and
			// then fails as the proxy's next 407.
			pc.close()
			if err := pc.open(ctx, d, nd, network, rt); err != nil {
				return nil, err
			}
		}
	}
}

// answerError is a failure to send CONNECT or read the proxy's answer.
func answerError(ctx context.Context, rt Route, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the proxy %s did not answer CONNECT in time: %w", rt.Proxy, err)
	}
	return &ClosedError{Proxy: rt.Proxy, Err: err}
}

// proxyConn is one connection to the proxy while CONNECT runs on it:
// ctx's end interrupts whatever read or write is under way.
type proxyConn struct {
	conn net.Conn
	br   *bufio.Reader
	stop func() bool
}

func (pc *proxyConn) open(ctx context.Context, d *Dialer, nd *net.Dialer, network string, rt Route) error {
	conn, err := d.dialProxy(ctx, nd, network, rt)
	if err != nil {
		return err
	}
	pc.conn, pc.br = conn, bufio.NewReader(conn)
	pc.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	if dl, has := ctx.Deadline(); has {
		conn.SetDeadline(dl)
	}
	return nil
}

func (pc *proxyConn) close() {
	pc.stop()
	pc.conn.Close()
}

// hand gives the open tunnel to the caller, free of ctx's watch and
// deadline, with the bytes the CONNECT reader already took.
func (pc *proxyConn) hand(ctx context.Context) (net.Conn, error) {
	if !pc.stop() {
		return nil, ctx.Err()
	}
	pc.conn.SetDeadline(time.Time{})
	if pc.br.Buffered() > 0 {
		return &bufferedConn{pc.conn, pc.br}, nil
	}
	return pc.conn, nil
}

// proxyAuth chooses what each CONNECT round sends in
// Proxy-Authorization: Basic from the proxy URL, then Negotiate when the
// proxy offers it, each tried once; a Negotiate exchange, once begun,
// answers the proxy's challenges.
type proxyAuth struct {
	d                    *Dialer
	rt                   Route
	spn                  string
	neg                  TokenSource
	tried                string // the scheme sent last
	basicTried, negTried bool
}

// first is the first round's header: Basic when the URL has credentials,
// sent before any 407 as net/http does.
func (pa *proxyAuth) first() string {
	if !pa.rt.HasCredentials() {
		return ""
	}
	pa.tried, pa.basicTried = "Basic", true
	return basicAuth(pa.rt.url.User)
}

// next answers a 407 that offered these schemes.
func (pa *proxyAuth) next(offered []string, challenge []byte) (string, error) {
	switch {
	case pa.neg != nil:
		if challenge == nil {
			return "", &NegotiateError{Proxy: pa.rt.Proxy, SPN: pa.spn, Err: ErrRejected}
		}
		return pa.negotiateToken(challenge)
	case has(offered, "Negotiate") && !pa.negTried && pa.d.negotiate() != nil:
		pa.negTried, pa.tried = true, "Negotiate"
		neg, err := pa.d.negotiate()(pa.spn)
		if err != nil {
			return "", &NegotiateError{Proxy: pa.rt.Proxy, SPN: pa.spn, Err: err}
		}
		pa.neg = neg
		return pa.negotiateToken(nil)
	case has(offered, "Basic") && pa.rt.HasCredentials() && !pa.basicTried:
		pa.tried, pa.basicTried = "Basic", true
		return basicAuth(pa.rt.url.User), nil
	}
	return "", &AuthError{Proxy: pa.rt.Proxy, Offered: offered, Tried: pa.tried}
}

// negotiateToken is the header carrying Windows' next token.
func (pa *proxyAuth) negotiateToken(challenge []byte) (string, error) {
	tok, err := pa.neg.Token(challenge)
	if err == nil && len(tok) == 0 {
		err = errNoToken
	}
	if err != nil {
		return "", &NegotiateError{Proxy: pa.rt.Proxy, SPN: pa.spn, Err: err}
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(tok), nil
}

func (pa *proxyAuth) close() {
	if pa.neg != nil {
		pa.neg.Close()
	}
}

func (d *Dialer) negotiate() NegotiateFunc {
	if d.Negotiate != nil {
		return d.Negotiate
	}
	return platformNegotiate
}

// connectOnce sends one CONNECT and reads the answer's head.
func (d *Dialer) connectOnce(conn net.Conn, br *bufio.Reader, target, auth string) (*http.Response, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if d.UserAgent != "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", d.UserAgent)
	}
	if auth != "" {
		fmt.Fprintf(&b, "Proxy-Authorization: %s\r\n", auth)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	return http.ReadResponse(br, &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}})
}

func basicAuth(u *url.Userinfo) string {
	pw, _ := u.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw))
}

// schemes reads Proxy-Authenticate headers: the schemes offered, in order
// (one per header line, or comma-separated where no parameters follow),
// and the Negotiate challenge when the proxy sent one.
func schemes(values []string) (offered []string, negChallenge []byte) {
	for _, v := range values {
		for _, part := range splitOutsideQuotes(v) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, param, _ := strings.Cut(part, " ")
			if strings.Contains(name, "=") {
				continue // a parameter of the previous scheme (realm="x")
			}
			canon := canonicalScheme(name)
			if !has(offered, canon) {
				offered = append(offered, canon)
			}
			if canon == "Negotiate" && strings.TrimSpace(param) != "" {
				if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(param)); err == nil {
					negChallenge = b
				}
			}
		}
	}
	return offered, negChallenge
}

// splitOutsideQuotes splits a header value at commas that are not inside
// a quoted string (realm="a, b").
func splitOutsideQuotes(v string) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, v[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, v[start:])
}

func canonicalScheme(s string) string {
	for _, k := range []string{"Negotiate", "NTLM", "Basic", "Digest", "Kerberos", "Bearer"} {
		if strings.EqualFold(s, k) {
			return k
		}
	}
	return s
}

func has(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// bufferedConn is a tunnel whose first bytes the CONNECT reader already
// took from the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
