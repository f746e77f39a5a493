//go:build windows && winesettings

package main

// calmkeyctl.exe under Wine with Windows' proxy settings written as Wine's
// winhttp.dll reads them. These change settings every program in the
// prefix reads: scripts/wine/test runs them with -tags winesettings after
// all other tests, on their own.

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/fakeproxy"
	"github.com/calmkey/calmkey/internal/netroute/netroutetest"
)

// pacScript serves a PAC script on loopback and returns its URL.
func pacScript(t *testing.T, script string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprint(w, script)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/proxy.pac"
}

// TestWinSettingsE2E is one test, its steps in order: they share the
// user's settings.
func TestWinSettingsE2E(t *testing.T) {
	netroutetest.RequirePrefix(t)
	// A name no DNS knows: only a proxy gets the test there.
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	c := logonCLI(t, srv)
	key := srv.SecretKey()
	c.addSecrets(key)
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload")
	p := fakeproxy.Start(t, fakeproxy.Options{})
	noEnv := []string{"HTTPS_PROXY=", "https_proxy=", "HTTP_PROXY=", "http_proxy=", "NO_PROXY=", "no_proxy="}
	hosts := []string{fakealm.Host(srv.UAAURL()), fakealm.Host(srv.APIURL())}
	tunnelled := func(what string, from int, want []string) {
		t.Helper()
		got := p.Targets()[from:]
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: the proxy tunnelled to %q, want %q", what, got, want)
		}
	}
	testVia := func(what, text string, wantOK bool) routeReport {
		t.Helper()
		code := exitOK
		if !wantOK {
			code = exitNo
		}
		start := time.Now()
		r := c.runEnv(noEnv, "", "test", "--json")
		t.Logf("%s: calmkeyctl test took %s", what, time.Since(start))
		expect(t, r, code, what)
		rep := routeJSON(t, r)
		for _, s := range rep.Steps {
			if !wantOK && s.ID == "api" {
				continue
			}
			if s.Route == nil || s.Route.Text != text {
				t.Errorf("%s: step %s: route %+v, want %q", what, s.ID, s.Route, text)
			}
		}
		return rep
	}

	t.Run("fixed proxy", func(t *testing.T) {
		netroutetest.SetUser(t, netroutetest.Direct|netroutetest.Proxy, p.Addr, "<local>", "")
		n := len(p.Targets())
		testVia("fixed proxy", "via "+p.Addr+" (Windows settings)", true)
		tunnelled("fixed proxy", n, hosts)

		r := c.runEnv(noEnv, "", "proxy")
		expect(t, r, exitOK, "proxy")
		if !strings.Contains(r.stdout, "via "+p.Addr+" (Windows settings)") || !strings.Contains(r.stdout, "why: the proxy server in Windows' proxy settings for this user") {
			t.Errorf("proxy:\n%s", r.stdout)
		}
	})

	t.Run("HTTPS_PROXY wins", func(t *testing.T) {
		// The settings name a proxy where nothing listens.
		netroutetest.SetUser(t, netroutetest.Direct|netroutetest.Proxy, "127.0.0.1:9", "", "")
		n := len(p.Targets())
		r := c.runEnv([]string{"HTTPS_PROXY=" + p.URL, "NO_PROXY="}, "", "test", "--json")
		expect(t, r, exitOK, "HTTPS_PROXY over the settings")
		if s := routeJSON(t, r).Steps[0]; s.Route == nil || s.Route.Source != "HTTPS_PROXY" {
			t.Errorf("route %+v", s.Route)
		}
		tunnelled("HTTPS_PROXY", n, hosts)
	})

	t.Run("PAC on loopback", func(t *testing.T) {
		pac := pacScript(t, fmt.Sprintf(`function FindProxyForURL(url, host) {
  if (dnsDomainIs(host, ".calmkey.test")) return "PROXY %s";
  return "DIRECT";
}`, p.Addr))
		// The fixed proxy beside it is never used while the script works.
		netroutetest.SetUser(t, netroutetest.Direct|netroutetest.PAC|netroutetest.Proxy, "127.0.0.1:9", "", pac)
		n := len(p.Targets())
		testVia("PAC", "via "+p.Addr+" (PAC "+pac+")", true)
		tunnelled("PAC", n, hosts)
	})

	t.Run("PAC DIRECT", func(t *testing.T) {
		pac := pacScript(t, `function FindProxyForURL(url, host) { return "DIRECT"; }`)
		netroutetest.SetUser(t, netroutetest.Direct|netroutetest.PAC|netroutetest.Proxy, p.Addr, "", pac)
		n := len(p.Targets())
		rep := testVia("PAC DIRECT", "direct (PAC "+pac+")", false)
		// Direct, the name resolves nowhere: the test says so.
		if s := rep.Steps[0]; !strings.Contains(s.Detail, "cannot be") {
			t.Errorf("token step: %+v", s)
		}
		tunnelled("PAC DIRECT", n, nil)
	})

	t.Run("PAC that cannot be fetched", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pac := "http://" + ln.Addr().String() + "/proxy.pac"
		ln.Close()
		netroutetest.SetUser(t, netroutetest.Direct|netroutetest.PAC|netroutetest.Proxy, p.Addr, "", pac)
		n := len(p.Targets())
		rep := testVia("PAC failed", "via "+p.Addr+" (Windows settings)", true)
		if s := rep.Steps[0]; s.Route == nil || !strings.Contains(s.Route.Note, "could not be downloaded; used the proxy "+p.Addr) {
			t.Errorf("no note of the failed script: %+v", s.Route)
		}
		tunnelled("PAC failed", n, hosts)
	})

	t.Run("auto-detect without WPAD", func(t *testing.T) {
		netroutetest.SetUser(t, netroutetest.Direct|netroutetest.AutoDetect, "", "", "")
		n := len(p.Targets())
		start := time.Now()
		r := c.runEnv(noEnv, "", "proxy", "--json")
		took := time.Since(start)
		expect(t, r, exitOK, "proxy with auto-detect")
		if !strings.Contains(r.stdout, `"text": "direct"`) {
			t.Errorf("proxy --json:\n%s", r.stdout)
		}
		// Quickly: a calmkeyctl.exe start under Wine is about half a second.
		if took > 5*time.Second {
			t.Errorf("auto-detect without WPAD took %s", took)
		}
		t.Logf("calmkeyctl proxy with auto-detect and no WPAD: %s", took)
		testVia("auto-detect", "direct", false)
		tunnelled("auto-detect", n, nil)
	})
}
