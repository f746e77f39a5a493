package netroute

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

func TestExplain(t *testing.T) {
	winRoute := Route{Kind: Proxy, Proxy: "proxy.corp:8080", Source: SourceWindows}
	envRoute := Route{Kind: Proxy, Proxy: "proxy.corp:8080", Source: SourceHTTPSProxy}
	wrap := func(rt Route, err error) error {
		return fmt.Errorf("Get %q: %w", "https://alm.example.com/", &RouteError{rt, err})
	}
	for _, c := range []struct {
		name         string
		err          error
		detail, hint string // substrings
	}{
		{"refused", wrap(envRoute, &UnreachableError{"proxy.corp:8080", &net.OpError{Op: "dial", Err: refusedErrno()}}),
			"the proxy proxy.corp:8080 refused the connection", "Check HTTPS_PROXY"},
		{"dns", wrap(winRoute, &UnreachableError{"proxy.corp:8080", &net.DNSError{Err: "no such host", Name: "proxy.corp", IsNotFound: true}}),
			"cannot be found (DNS)", "Check Windows' proxy settings"},
		{"no credentials", wrap(envRoute, &AuthError{"proxy.corp:8080", []string{"Basic"}, ""}),
			"requires authentication (HTTP 407; it offers Basic)", "http://user:password@host:port"},
		{"wrong password", wrap(envRoute, &AuthError{"proxy.corp:8080", []string{"Basic"}, "Basic"}),
			"did not accept Basic authentication", "percent-encoded"},
		{"ntlm only", wrap(winRoute, &AuthError{"proxy.corp:8080", []string{"NTLM"}, ""}),
			"it offers NTLM)", "only NTLM"},
		{"negotiate rejected", wrap(winRoute, &NegotiateError{"proxy.corp:8080", "HTTP/proxy.corp", ErrRejected}),
			"did not accept the Windows logon (Negotiate, SPN HTTP/proxy.corp)", "SPN HTTP/proxy.corp registered"},
		{"negotiate sspi", wrap(winRoute, &NegotiateError{"proxy.corp:8080", "HTTP/proxy.corp", syscall.Errno(5)}),
			"Windows could not log on to the proxy proxy.corp:8080 (Negotiate, SPN HTTP/proxy.corp)", "Kerberos"},
		{"403", wrap(winRoute, &RefusedError{"proxy.corp:8080", "alm.example.com:443", 403}),
			"refused to connect to alm.example.com (HTTP 403 Forbidden)", "does not allow alm.example.com"},
		{"502", wrap(winRoute, &RefusedError{"proxy.corp:8080", "alm.example.com:443", 502}),
			"could not reach alm.example.com (HTTP 502 Bad Gateway)", "beyond it"},
		{"closed", wrap(winRoute, &ClosedError{"proxy.corp:8080", errors.New("EOF")}),
			"closed the connection instead of opening a tunnel", "Check Windows' proxy settings"},
	} {
		d, h, ok := Explain(c.err, "alm.example.com")
		if !ok || !strings.Contains(d, c.detail) || !strings.Contains(h, c.hint) {
			t.Errorf("%s: %v %q\n  hint %q", c.name, ok, d, h)
		}
	}
	if _, _, ok := Explain(&net.OpError{Op: "dial", Err: refusedErrno()}, "alm.example.com"); ok {
		t.Error("a direct connection's failure explained as the proxy's")
	}
}

func TestWhy(t *testing.T) {
	ctx := context.Background()
	sys := &fakeSystem{user: UserSettings{PACURL: "http://wpad/p.pac"}}
	r := mustNew(t, Options{System: sys})
	rt := r.Route(ctx, target("alm.example.com"))
	if got := rt.Why(); got != "the proxy script http://wpad/p.pac says DIRECT" {
		t.Errorf("Why = %q", got)
	}
	r = mustNew(t, Options{Getenv: env("HTTPS_PROXY", "p:1", "NO_PROXY", "alm.example.com")})
	if got := r.Route(ctx, target("alm.example.com")).Why(); got != "NO_PROXY names this host" {
		t.Errorf("Why = %q", got)
	}
}

func refusedErrno() error {
	if platformSystem() == nil {
		return syscall.ECONNREFUSED
	}
	return syscall.Errno(10061)
}
