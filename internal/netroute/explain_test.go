package netroute

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

// TestExplain: each proxy failure gets its codes; almtest's
// TestProxyFailureWords checks their English for the same failures.
func TestExplain(t *testing.T) {
	winRoute := Route{Kind: Proxy, Proxy: "proxy.corp:8080", Source: SourceWindows}
	envRoute := Route{Kind: Proxy, Proxy: "proxy.corp:8080", Source: SourceHTTPSProxy}
	wrap := func(rt Route, err error) error {
		return fmt.Errorf("Get %q: %w", "https://alm.example.com/", &RouteError{rt, err})
	}
	for _, c := range []struct {
		name         string
		err          error
		detail, hint string // codes
		setting      string // the hint's Setting part, if any
	}{
		{"refused", wrap(envRoute, &UnreachableError{"proxy.corp:8080", &net.OpError{Op: "dial", Err: refusedErrno()}}),
			"proxy.refused", "hint.proxy.check", "proxy.setting.env"},
		{"dns", wrap(winRoute, &UnreachableError{"proxy.corp:8080", &net.DNSError{Err: "no such host", Name: "proxy.corp", IsNotFound: true}}),
			"proxy.dns", "hint.proxy.check", "proxy.setting.windows"},
		{"no credentials", wrap(envRoute, &AuthError{"proxy.corp:8080", []string{"Basic"}, ""}),
			"proxy.authNone", "hint.proxy.auth.basic", ""},
		{"wrong password", wrap(envRoute, &AuthError{"proxy.corp:8080", []string{"Basic"}, "Basic"}),
			"proxy.authRejected", "hint.proxy.auth.password", "proxy.setting.env"},
		{"ntlm only", wrap(winRoute, &AuthError{"proxy.corp:8080", []string{"NTLM"}, ""}),
			"proxy.authNone", "hint.proxy.auth.ntlm", ""},
		{"negotiate rejected", wrap(winRoute, &NegotiateError{"proxy.corp:8080", "HTTP/proxy.corp", ErrRejected}),
			"proxy.negotiateRejected", "hint.proxy.spn", "proxy.setting.windows"},
		{"negotiate sspi", wrap(winRoute, &NegotiateError{"proxy.corp:8080", "HTTP/proxy.corp", syscall.Errno(5)}),
			"proxy.negotiateFailed", "hint.proxy.kerberos", ""},
		{"403", wrap(winRoute, &RefusedError{"proxy.corp:8080", "alm.example.com:443", 403}),
			"proxy.refusedTarget", "hint.proxy.forbidden", "proxy.setting.windows"},
		{"502", wrap(winRoute, &RefusedError{"proxy.corp:8080", "alm.example.com:443", 502}),
			"proxy.cannotReach", "hint.proxy.badGateway", ""},
		{"closed", wrap(winRoute, &ClosedError{"proxy.corp:8080", errors.New("EOF")}),
			"proxy.closed", "hint.proxy.closed", ""},
	} {
		d, h, ok := Explain(c.err, "alm.example.com")
		if !ok || d.Code != c.detail || h.Code != c.hint || h.Parts["Setting"].Code != c.setting {
			t.Errorf("%s: %v %+v\n  hint %+v", c.name, ok, d, h)
		}
		if d.Values["Proxy"] != "proxy.corp:8080" {
			t.Errorf("%s: the detail does not name the proxy: %+v", c.name, d)
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
