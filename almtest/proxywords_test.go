package almtest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/calmkey/calmkey/internal/netroute"
)

// TestProxyFailureWords: the proxy's own failures read in English as
// calmkeyctl has always printed them (netroute gives the codes, this
// package the words).
func TestProxyFailureWords(t *testing.T) {
	winRoute := netroute.Route{Kind: netroute.Proxy, Proxy: "proxy.corp:8080", Source: netroute.SourceWindows}
	envRoute := netroute.Route{Kind: netroute.Proxy, Proxy: "proxy.corp:8080", Source: netroute.SourceHTTPSProxy}
	wrap := func(rt netroute.Route, err error) error {
		return fmt.Errorf("Get %q: %w", "https://alm.example.com/", &netroute.RouteError{Route: rt, Err: err})
	}
	for _, c := range []struct {
		name         string
		err          error
		detail, hint string // substrings
	}{
		{"refused", wrap(envRoute, &netroute.UnreachableError{Proxy: "proxy.corp:8080", Err: &net.OpError{Op: "dial", Err: errsRefused[0]}}),
			"the proxy proxy.corp:8080 refused the connection", "Check HTTPS_PROXY, or ask your network administrators which proxy to use."},
		{"dns", wrap(winRoute, &netroute.UnreachableError{Proxy: "proxy.corp:8080", Err: &net.DNSError{Err: "no such host", Name: "proxy.corp", IsNotFound: true}}),
			"the proxy proxy.corp:8080 cannot be found (DNS)", "Check Windows' proxy settings"},
		{"no credentials", wrap(envRoute, &netroute.AuthError{Proxy: "proxy.corp:8080", Offered: []string{"Basic"}}),
			"requires authentication (HTTP 407; it offers Basic)", "http://user:password@host:port"},
		{"wrong password", wrap(envRoute, &netroute.AuthError{Proxy: "proxy.corp:8080", Offered: []string{"Basic"}, Tried: "Basic"}),
			"did not accept Basic authentication", "must be percent-encoded, @ as %40"},
		{"ntlm only", wrap(winRoute, &netroute.AuthError{Proxy: "proxy.corp:8080", Offered: []string{"NTLM"}}),
			"it offers NTLM)", "only NTLM"},
		{"negotiate rejected", wrap(winRoute, &netroute.NegotiateError{Proxy: "proxy.corp:8080", SPN: "HTTP/proxy.corp", Err: netroute.ErrRejected}),
			"did not accept the Windows logon (Negotiate, SPN HTTP/proxy.corp)", "SPN HTTP/proxy.corp registered for the proxy's name as it is set in Windows' proxy settings"},
		{"negotiate sspi", wrap(winRoute, &netroute.NegotiateError{Proxy: "proxy.corp:8080", SPN: "HTTP/proxy.corp", Err: syscall.Errno(5)}),
			"Windows could not log on to the proxy proxy.corp:8080 (Negotiate, SPN HTTP/proxy.corp)", "Kerberos"},
		{"403", wrap(winRoute, &netroute.RefusedError{Proxy: "proxy.corp:8080", Target: "alm.example.com:443", Status: 403}),
			"refused to connect to alm.example.com (HTTP 403 Forbidden)", "does not allow alm.example.com"},
		{"502", wrap(winRoute, &netroute.RefusedError{Proxy: "proxy.corp:8080", Target: "alm.example.com:443", Status: 502}),
			"could not reach alm.example.com (HTTP 502 Bad Gateway)", "beyond it"},
		{"closed", wrap(winRoute, &netroute.ClosedError{Proxy: "proxy.corp:8080", Err: errors.New("EOF")}),
			"closed the connection instead of opening a tunnel", "Check Windows' proxy settings"},
	} {
		d, h, ok := netroute.Explain(c.err, "alm.example.com")
		detail, hint := fromWords(d), fromWords(h)
		if !ok || !detail.Valid(msgDepth) || !hint.Valid(msgDepth) ||
			!strings.Contains(detail.English(), c.detail) || !strings.Contains(hint.English(), c.hint) {
			t.Errorf("%s: %v %q\n  hint %q", c.name, ok, detail.English(), hint.English())
		}
	}
}
