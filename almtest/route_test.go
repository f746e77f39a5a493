package almtest

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/fakeproxy"
	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// TestRouteInReport: each step names its route, in text and JSON.
func TestRouteInReport(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	key := parse(t, srv.SecretKey())
	proxy := fakeproxy.Start(t, fakeproxy.Options{Basic: "alice:s3cret"})
	setProxyEnv(t, "http://alice:s3cret@"+proxy.Addr, "")
	r := Run(context.Background(), key, Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second})
	if !r.OK {
		t.Fatalf("through a Basic proxy the logon should work:\n%s", r)
	}
	for _, s := range r.Steps {
		if s.Route == nil || s.Route.Kind != netroute.Proxy || s.Route.Proxy != proxy.Addr || s.Route.Source != netroute.SourceHTTPSProxy {
			t.Fatalf("%s: route %+v", s.ID, s.Route)
		}
	}
	text := r.String()
	if !strings.Contains(text, "    Route: via "+proxy.Addr+" (from HTTPS_PROXY)\n") {
		t.Errorf("no route in the text:\n%s", text)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"route":{"kind":"proxy","proxy":"`+proxy.Addr+`","source":"HTTPS_PROXY","text":"via `) {
		t.Errorf("no route in the JSON: %s", b)
	}
	if strings.Contains(text+string(b), "s3cret") {
		t.Error("the proxy password shows")
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || back.Steps[0].Route == nil || back.Steps[0].Route.String() != r.Steps[0].Route.String() {
		t.Errorf("route lost in a round trip: %v %+v", err, back.Steps[0].Route)
	}
	if got := proxy.Targets(); len(got) != 2 {
		t.Errorf("proxy tunnelled %q", got)
	}

	// Options.Proxy overrides the environment: direct, then a proxy URL.
	srvLoop := fakealm.Start(t, fakealm.Options{})
	r = Run(context.Background(), parse(t, srvLoop.SecretKey()), Options{RootCAs: srvLoop.RootCAs(), Timeout: 10 * time.Second, Proxy: "direct"})
	if !r.OK || r.Steps[0].Route == nil || r.Steps[0].Route.String() != "direct (loopback)" {
		t.Fatalf("direct run: %+v\n%s", r.Steps[0].Route, r)
	}
	other := fakeproxy.Start(t, fakeproxy.Options{})
	r = Run(context.Background(), key, Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second, Proxy: other.URL})
	if !r.OK || r.Steps[1].Route.String() != "via "+other.Addr+" (from calmkey's proxy choice)" || len(other.Targets()) != 2 {
		t.Fatalf("--proxy run: %v\n%s", other.Targets(), r)
	}
}

// TestProxyAuthFailures: the proxy's 407 and 403 get their own words.
func TestProxyAuthFailures(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	key := parse(t, srv.SecretKey())
	opts := Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second}

	basic := fakeproxy.Start(t, fakeproxy.Options{Basic: "alice:right"})
	setProxyEnv(t, "http://alice:wr0ng@"+basic.Addr, "")
	r := Run(context.Background(), key, opts)
	s := want(t, r, StepToken, StatusFail, []string{"proxy " + basic.Addr, "did not accept Basic", "407"}, []string{"user name and password", "HTTPS_PROXY"})
	if strings.Contains(r.String(), "wr0ng") || strings.Contains(s.Hint, "wr0ng") {
		t.Fatal("the password shows")
	}

	forbidden := fakeproxy.Start(t, fakeproxy.Options{Refuse: 403})
	setProxyEnv(t, forbidden.URL, "")
	r = Run(context.Background(), key, opts)
	want(t, r, StepToken, StatusFail, []string{"proxy " + forbidden.Addr, "refused to connect to alm.calmkey.test", "403"}, []string{"does not allow alm.calmkey.test", "NO_PROXY"})
}

// TestTLSInspectionThroughProxy: a certificate from an unknown authority,
// found inside the proxy's tunnel, is named as the proxy's doing.
func TestTLSInspectionThroughProxy(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	p := fakeproxy.Start(t, fakeproxy.Options{})
	other := testkeys.NewCA(t) // the roots this computer has, without the company CA
	r := Run(context.Background(), parse(t, srv.SecretKey()), Options{RootCAs: other.Pool, Timeout: 10 * time.Second, Proxy: p.URL})
	want(t, r, StepToken, StatusFail, []string{"not trusted", "through the proxy " + p.Addr, "inspects TLS"}, []string{"SSL_CERT_FILE"})
}

// brokenPAC is Windows' settings with a PAC script that cannot be fetched
// and a fixed proxy beside it.
type brokenPAC struct{ fixed string }

func (b brokenPAC) User() (netroute.UserSettings, error) {
	return netroute.UserSettings{PACURL: "http://wpad.calmkey.test/proxy.pac", Proxy: b.fixed}, nil
}

func (brokenPAC) PAC(context.Context, string, netroute.UserSettings) (netroute.PACAnswer, error) {
	return netroute.PACAnswer{}, &netroute.PACError{Script: "http://wpad.calmkey.test/proxy.pac", Reason: "could not be downloaded"}
}

func (brokenPAC) Machine() (netroute.Fixed, error) { return netroute.Fixed{}, nil }

// TestPACFailureSaid: a PAC script that fails falls back to the fixed
// proxy; the route says so, and so does the hint when the test fails.
func TestPACFailureSaid(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	key := parse(t, srv.SecretKey())
	setProxyEnv(t, "", "")
	t.Setenv("HTTP_PROXY", "")
	t.Setenv("http_proxy", "")
	p := fakeproxy.Start(t, fakeproxy.Options{})
	r := Run(context.Background(), key, Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second, system: brokenPAC{p.Addr}})
	if !r.OK {
		t.Fatalf("through the fixed proxy the logon should work:\n%s", r)
	}
	wantRoute := "Route: via " + p.Addr + " (Windows settings); the proxy script http://wpad.calmkey.test/proxy.pac could not be downloaded; used the proxy " + p.Addr + " from Windows settings instead"
	if !strings.Contains(r.String(), wantRoute) {
		t.Errorf("want %q in\n%s", wantRoute, r)
	}
	// The note is a code too, for the window; a record keeps it.
	st := r.Steps[0]
	if st.Route == nil || st.Route.NoteWords.Code != "route.note.usedProxy" || !RouteMsg(*st.Route).Valid(msgDepth) {
		t.Fatalf("the route's note as a code: %+v", st.Route)
	}
	var back Step
	if b, err := json.Marshal(st); err != nil || json.Unmarshal(b, &back) != nil || back.Route == nil ||
		!reflect.DeepEqual(back.Route.NoteWords, st.Route.NoteWords) || RouteText(*back.Route) != RouteText(*st.Route) {
		t.Errorf("the note's code did not come back from JSON: %+v (%v)", back.Route, err)
	}

	// The fixed proxy is down: the failure's hint starts with the script.
	r = Run(context.Background(), key, Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second, system: brokenPAC{"127.0.0.1:9"}})
	want(t, r, StepToken, StatusFail, []string{"proxy 127.0.0.1:9", "refused"}, []string{"The proxy script http://wpad.calmkey.test/proxy.pac could not be downloaded; used the proxy 127.0.0.1:9", "Windows' proxy settings"})
	if h := r.Steps[0].HintMsg; h.Code != "hint.withNoteMsg" || !h.Valid(msgDepth) || h.English() != r.Steps[0].Hint {
		t.Errorf("the hint as a code: %+v, English %q, want %q", h, h.English(), r.Steps[0].Hint)
	}
}
