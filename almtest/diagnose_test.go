package almtest

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// timeoutErr is what a deadline gives: a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestDiagnosisByCode: failures are told apart by the OS's error codes
// (Winsock's on Windows, errno elsewhere) and by Go's types, never by their
// text: each error here says "translated text" and still gets its diagnosis.
func TestDiagnosisByCode(t *testing.T) {
	ru := &runner{ctx: context.Background(), parent: context.Background(), key: parse(t, testkeys.SecretKey(testkeys.Fields{}))}
	u, _ := url.Parse("https://tenant.authentication.eu10.hana.ondemand.com/oauth/token")
	// As net/http returns them: a url.Error around a net.OpError around the
	// system call's error.
	netErr := func(op string, err error) error {
		return &url.Error{Op: "Post", URL: u.String(), Err: &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError("translated text", err)}}
	}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", netErr("dial", errsRefused[0]), "refused the connection"},
		{"unreachable", netErr("dial", errsUnreachable[0]), "the network cannot reach"},
		{"reset", netErr("read", errsReset[0]), "closed the connection before answering"},
		{"dial timeout", &url.Error{Op: "Post", URL: u.String(), Err: &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}}, "connecting to " + u.Host + " timed out"},
		{"handshake timeout", &url.Error{Op: "Post", URL: u.String(), Err: timeoutErr{}}, "the TLS handshake with " + u.Host + " timed out"},
		{"plain HTTP", &url.Error{Op: "Post", URL: u.String(), Err: http.ErrSchemeMismatch}, "does not answer in TLS"},
		{"old TLS, alert", &url.Error{Op: "Post", URL: u.String(), Err: &net.OpError{Op: "remote error", Err: remoteAlertErr(t, alertProtocolVersion)}}, "older than 1.2"},
		{"other alert", &url.Error{Op: "Post", URL: u.String(), Err: &net.OpError{Op: "remote error", Err: remoteAlertErr(t, 40)}}, "TLS alert: handshake failure"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := ru.connectionFailure(tt.err, exchangeFacts{}, u, "uaa.url")
			if d.status != StatusFail || !strings.Contains(d.detail.English(), tt.want) || d.hint.English() == "" {
				t.Errorf("%v: got %q (hint %q), want %q", tt.err, d.detail.English(), d.hint.English(), tt.want)
			}
		})
	}
	// A ServerHello for TLS 1.1 is enough, whatever error crypto/tls made of it.
	d := ru.connectionFailure(errors.New("translated text"), exchangeFacts{serverVersion: tls.VersionTLS11}, u, "uaa.url")
	if !strings.Contains(d.detail.English(), "older than 1.2") {
		t.Errorf("ServerHello for TLS 1.1: %q", d.detail.English())
	}
}

// remoteAlertErr is the error crypto/tls puts in a net.OpError "remote
// error" for alert code, taken from a real handshake: its type is
// unexported.
func remoteAlertErr(t *testing.T, code uint8) error {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		_, _ = server.Read(make([]byte, 4096))               // the ClientHello
		_, _ = server.Write([]byte{21, 3, 3, 0, 2, 2, code}) // a fatal alert
	}()
	err := tls.Client(client, &tls.Config{ServerName: "x"}).Handshake()
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" {
		t.Fatalf("the handshake ended in %v, not a remote alert", err)
	}
	if got, ok := remoteAlert(err); !ok || got != code {
		t.Fatalf("remoteAlert = %d, %v; want %d", got, ok, code)
	}
	return op.Err
}

// TestProxyHint: a failure that a proxy may explain names the way the step
// went and points at what is true on every OS: calmkeyctl proxy to see each
// host's route, HTTPS_PROXY or --proxy to choose one. It never tells a
// user whose route came from Windows' settings that only HTTPS_PROXY counts.
func TestProxyHint(t *testing.T) {
	via := netroute.Route{Kind: netroute.Proxy, Proxy: "proxy.corp:8080", Source: netroute.SourceWindows}
	bypassed := netroute.Route{Kind: netroute.Direct, Source: netroute.SourceNoProxy}
	for _, c := range []struct {
		rt   *netroute.Route
		want []string
	}{
		{nil, []string{"If your network requires a proxy, run calmkeyctl proxy", "choose one with calmkeyctl test --proxy or Proxy… in the window."}},
		{&netroute.Route{Kind: netroute.Direct}, []string{"This step went direct. If your network requires a proxy", "choose one with calmkeyctl test --proxy or Proxy… in the window."}},
		{&bypassed, []string{"This step went direct (NO_PROXY).", "choose one with calmkeyctl test --proxy or Proxy… in the window."}},
		{&via, []string{"This step went via proxy.corp:8080 (Windows settings). If that is not the way out", "choose another with calmkeyctl test --proxy or Proxy… in the window."}},
	} {
		h := proxyHint(c.rt).English()
		for _, w := range append(c.want, "calmkeyctl proxy", "the route each host takes", "HTTPS_PROXY", "--proxy") {
			if !strings.Contains(h, w) {
				t.Errorf("hint for %v lacks %q:\n%s", c.rt, w, h)
			}
		}
	}
	// Through a proxy, a host that cannot be found names the proxy's route.
	ru := &runner{ctx: context.Background(), parent: context.Background(), key: parse(t, testkeys.SecretKey(testkeys.Fields{}))}
	u, _ := url.Parse("https://tenant.authentication.eu10.hana.ondemand.com/oauth/token")
	err := &url.Error{Op: "Post", URL: u.String(), Err: &net.DNSError{Err: "translated text", Name: u.Hostname(), IsNotFound: true}}
	d := ru.transportFailure(err, exchangeFacts{route: &via}, u, "uaa.url")
	if !strings.Contains(d.hint.English(), "This step went via proxy.corp:8080 (Windows settings).") {
		t.Errorf("the hint does not name the route:\n%s", d.hint.English())
	}
}
