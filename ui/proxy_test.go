package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/fakeproxy"
)

const proxyPassword = "pr0xy-s3cret"

// proxyFixture is a window whose key names hosts no DNS knows: only a
// proxy (a loopback fakeproxy) gets the test there. No proxy is set in the
// environment unless the test sets one.
func proxyFixture(t *testing.T, o fixtureOpts) (*fixture, *fakealm.Server, *fakeproxy.Proxy) {
	t.Helper()
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(k, "")
	}
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	o.test = almtest.Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second}
	f := newFixture(t, o)
	f.storeKey(srv.SecretKey(), "")
	f.load()
	return f, srv, fakeproxy.Start(t, fakeproxy.Options{})
}

// openProxy opens the Proxy… dialog from the toolbar.
func (f *fixture) openProxy() *proxyDialog {
	f.t.Helper()
	f.tap(f.w.bar.proxy)
	d := f.w.dialogs.proxy
	if d == nil || !f.overlayShown() {
		f.t.Fatal("the Proxy… button opened no dialog")
	}
	return d
}

// setProxy chooses choice in the Proxy… dialog, with url typed for
// proxyURL(), and presses Save.
func (f *fixture) setProxy(choice, url string) *proxyDialog {
	f.t.Helper()
	d := f.openProxy()
	if choice == proxyURL() {
		d.entry.SetText("")
		test.Type(d.entry, url)
	}
	d.choice.SetSelected(choice)
	test.Tap(d.save)
	return d
}

// runTest runs the open section's test and gives each step's route line.
func (f *fixture) runTest() []string {
	f.t.Helper()
	f.tap(f.sec().row.testButton)
	f.waitTest()
	f.render()
	var routes []string
	for _, row := range f.sec().result.rows {
		if row.route.Visible() {
			routes = append(routes, row.route.Text)
		}
	}
	return routes
}

func (f *fixture) render() { f.w.render() }

// allText is every text the window and its dialogs show: labels, entries
// (what is typed), buttons, and drawn text.
func (f *fixture) allText() string {
	var sb strings.Builder
	objs := []fyne.CanvasObject{f.win.Content()}
	objs = append(objs, f.win.Canvas().Overlays().List()...)
	for _, o := range objs {
		for _, obj := range test.LaidOutObjects(o) {
			switch x := obj.(type) {
			case *widget.Label:
				sb.WriteString(x.Text)
			case *widget.Entry:
				sb.WriteString(x.Text)
			case *widget.Button:
				sb.WriteString(x.Text)
			case *canvas.Text:
				sb.WriteString(x.Text)
			}
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

func wantRoutes(t *testing.T, got []string, want string) {
	t.Helper()
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("route lines %q, want two of %q", got, want)
	}
}

// A proxy set in the window takes the test there, each step shows the
// route in calmkeyctl's words, and the choice is kept for the next start.
func TestProxyPreferenceRoutesTestAndPersists(t *testing.T) {
	f, srv, p := proxyFixture(t, fixtureOpts{})
	f.setProxy(proxyURL(), p.URL)
	if f.overlayShown() {
		t.Fatal("Save left the dialog open")
	}
	if got := f.app.Preferences().String(proxyPref); got != p.URL {
		t.Errorf("kept %q, want %q", got, p.URL)
	}
	routes := f.runTest()
	if !f.sec().last.Report.OK {
		t.Fatalf("the test through the proxy failed: %s", f.sec().last.Report)
	}
	wantRoutes(t, routes, "Route: via "+p.Addr+" (from calmkey's proxy choice)")
	if got := p.Targets(); len(got) != 2 || got[0] != fakealm.Host(srv.UAAURL()) || got[1] != fakealm.Host(srv.APIURL()) {
		t.Errorf("the proxy tunnelled to %q", got)
	}
	mustContain(t, "window", texts(f.win.Content()), "Route: via "+p.Addr)

	// A new window of the same app: the same proxy, shown in the dialog.
	g := newFixture(t, fixtureOpts{app: f.app})
	if g.w.tests.opts.Proxy != p.URL {
		t.Errorf("the new window tests via %q, want %q", g.w.tests.opts.Proxy, p.URL)
	}
	d := g.openProxy()
	if d.choice.Selected != proxyURL() || d.entry.Text != p.URL {
		t.Errorf("the dialog shows %q %q, want %q %q", d.choice.Selected, d.entry.Text, proxyURL(), p.URL)
	}
}

// System (the default) follows HTTPS_PROXY; Direct overrides it.
func TestProxyDirectOverridesEnvironment(t *testing.T) {
	f, _, p := proxyFixture(t, fixtureOpts{})
	t.Setenv("HTTPS_PROXY", p.URL)
	if d := f.openProxy(); d.choice.Selected != proxySystem() {
		t.Errorf("the default choice is %q, want %q", d.choice.Selected, proxySystem())
	} else {
		d.dialog.Hide()
	}
	wantRoutes(t, f.runTest(), "Route: via "+p.Addr+" (from HTTPS_PROXY)")
	before := len(p.Connects())
	if before != 2 {
		t.Errorf("%d CONNECTs through HTTPS_PROXY, want 2", before)
	}

	f.setProxy(proxyDirect(), "")
	if got := f.app.Preferences().String(proxyPref); got != "direct" {
		t.Errorf("kept %q, want direct", got)
	}
	routes := f.runTest()
	if len(routes) == 0 || routes[0] != "Route: direct (calmkey's proxy choice)" {
		t.Errorf("route lines %q, want the token step direct", routes)
	}
	if f.sec().last.Report.OK {
		t.Error("a host only the proxy knows was reached directly")
	}
	if len(p.Connects()) != before {
		t.Error("Direct went through HTTPS_PROXY's proxy")
	}

	// Back to System: HTTPS_PROXY again, at once.
	f.setProxy(proxySystem(), "")
	wantRoutes(t, f.runTest(), "Route: via "+p.Addr+" (from HTTPS_PROXY)")
}

// A value that is not a proxy is refused with a message; the dialog stays
// open and nothing is kept.
func TestProxyBadValueRefused(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	for _, tc := range []struct{ value, want string }{
		{"ftp://proxy.example:21", "http:// or https://"},
		{"http://[::1", "not direct, system or a URL"},
		{"", "Type the proxy's address"},
	} {
		d := f.setProxy(proxyURL(), tc.value)
		if !f.overlayShown() || !d.problem.Visible() {
			t.Fatalf("%q: no message, or the dialog closed", tc.value)
		}
		mustContain(t, "message", d.problem.Text, tc.want)
		if tc.value != "" {
			mustContain(t, "message", d.problem.Text, "not saved")
		}
		if got := f.app.Preferences().String(proxyPref); got != "" {
			t.Errorf("%q: kept %q", tc.value, got)
		}
		if f.w.tests.opts.Proxy != "" {
			t.Errorf("%q: the tests take %q", tc.value, f.w.tests.opts.Proxy)
		}
		d.dialog.Hide()
	}
}

// A proxy URL with a password is refused (preferences are a plain file),
// with what to do instead; the password is taken off the screen. A user
// name alone is kept.
func TestProxyPasswordRefusedAndNeverShown(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	d := f.setProxy(proxyURL(), "http://alice:"+proxyPassword+"@proxy.example:8080")
	if !f.overlayShown() || !d.problem.Visible() {
		t.Fatal("a password was not refused")
	}
	mustContain(t, "message", d.problem.Text, "not saved", "password", "HTTPS_PROXY", "System")
	if d.entry.Text != "http://alice:***@proxy.example:8080" {
		t.Errorf("the entry shows %q, want the password masked", d.entry.Text)
	}
	mustNotContain(t, "window", f.allText(), proxyPassword)
	if got := f.app.Preferences().String(proxyPref); got != "" {
		t.Errorf("kept %q", got)
	}

	// A value with a password that cannot be read as a URL is cleared.
	d.entry.SetText("")
	test.Type(d.entry, "alice:"+proxyPassword+"@[::1")
	test.Tap(d.save)
	mustNotContain(t, "window", f.allText(), proxyPassword)
	d.dialog.Hide()

	f.setProxy(proxyURL(), "http://alice@proxy.example:8080")
	if got := f.app.Preferences().String(proxyPref); got != "http://alice@proxy.example:8080" || f.overlayShown() {
		t.Errorf("a user name without a password was not kept: %q", got)
	}

	// A password put into the preferences file by hand is not used, and
	// the dialog says so without showing it.
	f.app.Preferences().SetString(proxyPref, "http://alice:"+proxyPassword+"@proxy.example:8080")
	g := newFixture(t, fixtureOpts{app: f.app})
	if g.w.tests.opts.Proxy != "" {
		t.Errorf("a hand-edited password was used: %q", g.w.tests.opts.Proxy)
	}
	d = g.openProxy()
	mustContain(t, "message", d.problem.Text, "not used", "password")
	mustNotContain(t, "window", g.allText(), proxyPassword)
}
