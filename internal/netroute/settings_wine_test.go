//go:build windows && winesettings

package netroute

// These tests change Windows' proxy settings, the user's and the
// machine's, which every program in the Wine prefix reads: scripts/wine/test
// runs them with -tags winesettings after all other tests, one package at a
// time, in the session's throwaway prefix.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/netroute/netroutetest"
)

func TestWinSettingsUser(t *testing.T) {
	netroutetest.SetUser(t, netroutetest.Direct|netroutetest.Proxy, "proxy.corp:8080", "<local>;*.intra.corp", "")
	us, err := winSystem{}.User()
	if err != nil {
		t.Fatal(err)
	}
	if us.Proxy != "proxy.corp:8080" || us.Bypass != "<local>;*.intra.corp" || us.PACURL != "" {
		t.Fatalf("settings %+v", us)
	}
	r, _ := New(Options{Getenv: env()})
	check(t, r.Route(context.Background(), target("alm.example.com")), Proxy, "proxy.corp:8080", SourceWindows)
	check(t, r.Route(context.Background(), target("wiki.intra.corp")), Direct, "", SourceWindows+" bypass list")
	check(t, r.Route(context.Background(), target("intranet")), Direct, "", SourceWindows+" bypass list")

	// The environment still wins.
	r, _ = New(Options{Getenv: env("HTTPS_PROXY", "http://env-proxy:3128")})
	check(t, r.Route(context.Background(), target("alm.example.com")), Proxy, "env-proxy:3128", SourceHTTPSProxy)
}

// pacServer serves a PAC script on loopback.
func pacServer(t *testing.T, script string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprint(w, script)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/proxy.pac"
}

func TestWinSettingsPAC(t *testing.T) {
	pac := pacServer(t, `function FindProxyForURL(url, host) {
  if (host == "alm.example.com") return "PROXY pac-proxy.corp:3128; DIRECT";
  return "DIRECT";
}`)
	netroutetest.SetUser(t, netroutetest.Direct|netroutetest.PAC|netroutetest.Proxy, "fixed.corp:8080", "", pac)
	r, _ := New(Options{Getenv: env()})
	start := time.Now()
	rt := r.Route(context.Background(), target("alm.example.com"))
	took := time.Since(start)
	check(t, rt, Proxy, "pac-proxy.corp:3128", "PAC "+pac)
	start = time.Now()
	r.Route(context.Background(), target("alm.example.com"))
	again := time.Since(start)
	// DIRECT is final: the fixed proxy is not used.
	check(t, r.Route(context.Background(), target("other.example.com")), Direct, "", "PAC "+pac)
	t.Logf("PAC look-up under this Windows: %s the first time, %s from the run's memory", took, again)
}

func TestWinSettingsPACFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pac := "http://" + ln.Addr().String() + "/proxy.pac"
	ln.Close()
	netroutetest.SetUser(t, netroutetest.Direct|netroutetest.PAC|netroutetest.Proxy, "fixed.corp:8080", "", pac)
	r, _ := New(Options{Getenv: env()})
	rt := r.Route(context.Background(), target("alm.example.com"))
	check(t, rt, Proxy, "fixed.corp:8080", SourceWindows)
	if want := "the proxy script " + pac + " could not be downloaded; used the proxy fixed.corp:8080 from Windows settings instead"; rt.Note != want {
		t.Errorf("note %q\nwant %q", rt.Note, want)
	}
}

func TestWinSettingsAutoDetectWithoutWPAD(t *testing.T) {
	netroutetest.SetUser(t, netroutetest.Direct|netroutetest.AutoDetect, "", "", "")
	start := time.Now()
	r, _ := New(Options{Getenv: env()})
	rt := r.Route(context.Background(), target("alm.example.com"))
	took := time.Since(start)
	check(t, rt, Direct, "", SourceNone)
	if took > 5*time.Second {
		t.Errorf("auto-detect without WPAD took %s", took)
	}
	t.Logf("auto-detect without WPAD: %s", took)
}

func TestWinSettingsMachine(t *testing.T) {
	netroutetest.SetUser(t, netroutetest.Direct, "", "", "")
	netroutetest.SetMachine(t, "machine-proxy.corp:3128", "*.intra.corp")
	r, _ := New(Options{Getenv: env()})
	check(t, r.Route(context.Background(), target("alm.example.com")), Proxy, "machine-proxy.corp:3128", SourceWinHTTP)
	check(t, r.Route(context.Background(), target("a.intra.corp")), Direct, "", SourceWinHTTP+" bypass list")
}
