package netroute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSystem is Windows' settings as a test sets them; it counts the calls.
type fakeSystem struct {
	mu      sync.Mutex
	user    UserSettings
	userErr error
	machine Fixed
	// pac answers a PAC look-up; nil answers DIRECT.
	pac func(ctx context.Context, target string) (PACAnswer, error)

	userCalls, pacCalls, machineCalls int
	pacTargets                        []string
}

func (f *fakeSystem) User() (UserSettings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userCalls++
	return f.user, f.userErr
}

func (f *fakeSystem) PAC(ctx context.Context, target string, _ UserSettings) (PACAnswer, error) {
	f.mu.Lock()
	f.pacCalls++
	f.pacTargets = append(f.pacTargets, target)
	pac := f.pac
	f.mu.Unlock()
	if pac == nil {
		return PACAnswer{Direct: true}, nil
	}
	return pac(ctx, target)
}

func (f *fakeSystem) Machine() (Fixed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.machineCalls++
	return f.machine, nil
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func target(host string) *url.URL { return &url.URL{Scheme: "https", Host: host} }

func mustNew(t *testing.T, o Options) *Resolver {
	t.Helper()
	if o.Getenv == nil {
		o.Getenv = env()
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func check(t *testing.T, got Route, kind Kind, proxy, source string) {
	t.Helper()
	if got.Kind != kind || got.Proxy != proxy || got.Source != source {
		t.Fatalf("route = %+v (%s), want %s %q from %q", got, got, kind, proxy, source)
	}
}

func TestResolverOrder(t *testing.T) {
	ctx := context.Background()
	win := func() *fakeSystem {
		return &fakeSystem{
			user:    UserSettings{Proxy: "user-proxy.corp:8080"},
			machine: Fixed{Proxy: "machine-proxy.corp:3128"},
		}
	}

	t.Run("environment wins over Windows", func(t *testing.T) {
		sys := win()
		r := mustNew(t, Options{System: sys, Getenv: env("HTTPS_PROXY", "http://env-proxy:3128")})
		rt := r.Route(ctx, target("alm.example.com"))
		check(t, rt, Proxy, "env-proxy:3128", SourceHTTPSProxy)
		if rt.String() != "via env-proxy:3128 (from HTTPS_PROXY)" {
			t.Errorf("String = %q", rt.String())
		}
		if sys.userCalls+sys.machineCalls+sys.pacCalls != 0 {
			t.Errorf("Windows' settings were read although the environment decides: %+v", sys)
		}
	})
	t.Run("lower-case https_proxy, port filled in", func(t *testing.T) {
		r := mustNew(t, Options{System: win(), Getenv: env("https_proxy", "env-proxy")})
		check(t, r.Route(ctx, target("alm.example.com")), Proxy, "env-proxy:80", SourceHTTPSProxy)
	})
	t.Run("NO_PROXY is final", func(t *testing.T) {
		sys := win()
		r := mustNew(t, Options{System: sys, Getenv: env("HTTPS_PROXY", "env-proxy:3128", "NO_PROXY", ".example.com")})
		check(t, r.Route(ctx, target("alm.example.com")), Direct, "", SourceNoProxy)
		check(t, r.Route(ctx, target("other.test")), Proxy, "env-proxy:3128", SourceHTTPSProxy)
		if sys.userCalls != 0 {
			t.Error("a NO_PROXY match fell through to Windows' settings")
		}
	})
	t.Run("HTTP_PROXY alone is final and says why", func(t *testing.T) {
		r := mustNew(t, Options{System: win(), Getenv: env("HTTP_PROXY", "env-proxy:3128")})
		rt := r.Route(ctx, target("alm.example.com"))
		check(t, rt, Direct, "", SourceEnvironment)
		if !strings.Contains(rt.Note, "HTTPS_PROXY") {
			t.Errorf("note = %q", rt.Note)
		}
	})
	t.Run("unreadable HTTPS_PROXY: direct, without its text", func(t *testing.T) {
		r := mustNew(t, Options{System: win(), Getenv: env("HTTPS_PROXY", "http://user:s3cret@[bad")})
		rt := r.Route(ctx, target("alm.example.com"))
		check(t, rt, Direct, "", SourceHTTPSProxy)
		if rt.Note == "" || strings.Contains(rt.Note, "s3cret") {
			t.Errorf("note = %q", rt.Note)
		}
	})
	t.Run("Windows user's fixed proxy", func(t *testing.T) {
		r := mustNew(t, Options{System: win()})
		rt := r.Route(ctx, target("alm.example.com"))
		check(t, rt, Proxy, "user-proxy.corp:8080", SourceWindows)
		if rt.String() != "via user-proxy.corp:8080 (Windows settings)" {
			t.Errorf("String = %q", rt.String())
		}
	})
	t.Run("machine-wide WinHTTP when the user has none", func(t *testing.T) {
		sys := win()
		sys.user = UserSettings{}
		r := mustNew(t, Options{System: sys})
		check(t, r.Route(ctx, target("alm.example.com")), Proxy, "machine-proxy.corp:3128", SourceWinHTTP)
	})
	t.Run("direct when nothing is set", func(t *testing.T) {
		r := mustNew(t, Options{System: &fakeSystem{}})
		rt := r.Route(ctx, target("alm.example.com"))
		check(t, rt, Direct, "", SourceNone)
		if rt.String() != "direct" {
			t.Errorf("String = %q", rt.String())
		}
	})
	t.Run("no system (Linux, macOS): the environment or direct", func(t *testing.T) {
		check(t, mustNew(t, Options{}).Route(ctx, target("alm.example.com")), Direct, "", SourceNone)
	})
	t.Run("settings are read once per resolver, again by the next", func(t *testing.T) {
		sys := win()
		r := mustNew(t, Options{System: sys})
		r.Route(ctx, target("a.example.com"))
		r.Route(ctx, target("b.example.com"))
		if sys.userCalls != 1 {
			t.Errorf("user settings read %d times in one run", sys.userCalls)
		}
		sys.user = UserSettings{Proxy: "new-proxy:1"}
		check(t, mustNew(t, Options{System: sys}).Route(ctx, target("a.example.com")), Proxy, "new-proxy:1", SourceWindows)
	})
}

func TestResolverPAC(t *testing.T) {
	ctx := context.Background()
	const script = "http://wpad.corp/proxy.pac"
	t.Run("PAC proxy, kept for the run", func(t *testing.T) {
		sys := &fakeSystem{
			user: UserSettings{PACURL: script, Proxy: "fixed:8080"},
			pac: func(context.Context, string) (PACAnswer, error) {
				return PACAnswer{Proxy: "pac-proxy.corp:3128;pac-proxy2.corp:3128"}, nil
			},
		}
		r := mustNew(t, Options{System: sys})
		for range 3 {
			rt := r.Route(ctx, target("alm.example.com"))
			check(t, rt, Proxy, "pac-proxy.corp:3128", "PAC "+script)
			if rt.String() != "via pac-proxy.corp:3128 (PAC "+script+")" {
				t.Errorf("String = %q", rt.String())
			}
		}
		r.Route(ctx, target("auth.example.com"))
		if sys.pacCalls != 2 {
			t.Errorf("PAC asked %d times for 2 hosts", sys.pacCalls)
		}
		if sys.pacTargets[0] != "https://alm.example.com/" {
			t.Errorf("PAC asked about %q", sys.pacTargets[0])
		}
	})
	t.Run("PAC DIRECT is final", func(t *testing.T) {
		sys := &fakeSystem{user: UserSettings{PACURL: script, Proxy: "fixed:8080"}, machine: Fixed{Proxy: "m:1"}}
		rt := mustNew(t, Options{System: sys}).Route(ctx, target("alm.example.com"))
		check(t, rt, Direct, "", "PAC "+script)
		if rt.String() != "direct (PAC "+script+")" {
			t.Errorf("String = %q", rt.String())
		}
	})
	t.Run("PAC HTTPS keeps its scheme", func(t *testing.T) {
		sys := &fakeSystem{user: UserSettings{PACURL: script}, pac: func(context.Context, string) (PACAnswer, error) {
			return PACAnswer{Proxy: "HTTPS secure-proxy.corp:8443; DIRECT"}, nil
		}}
		rt := mustNew(t, Options{System: sys}).Route(ctx, target("alm.example.com"))
		check(t, rt, Proxy, "secure-proxy.corp:8443", "PAC "+script)
		if !rt.TLS() {
			t.Error("a PAC HTTPS proxy lost its scheme")
		}
	})
	t.Run("PAC failure falls back to the fixed proxy and says so", func(t *testing.T) {
		sys := &fakeSystem{user: UserSettings{PACURL: script, Proxy: "fixed.corp:8080"}, pac: func(context.Context, string) (PACAnswer, error) {
			return PACAnswer{}, &PACError{Script: script, Reason: "could not be downloaded"}
		}}
		r := mustNew(t, Options{System: sys})
		rt := r.Route(ctx, target("alm.example.com"))
		check(t, rt, Proxy, "fixed.corp:8080", SourceWindows)
		want := "the proxy script " + script + " could not be downloaded; used the proxy fixed.corp:8080 from Windows settings instead"
		if rt.Note != want {
			t.Errorf("note = %q\nwant   %q", rt.Note, want)
		}
		r.Route(ctx, target("auth.example.com"))
		if sys.pacCalls != 1 {
			t.Errorf("a failed script was asked %d times in one run", sys.pacCalls)
		}
	})
	t.Run("PAC failure with nothing else goes direct and says so", func(t *testing.T) {
		sys := &fakeSystem{user: UserSettings{PACURL: script}, pac: func(context.Context, string) (PACAnswer, error) {
			return PACAnswer{}, &PACError{Script: script, Reason: "has an error or could not be run"}
		}}
		rt := mustNew(t, Options{System: sys}).Route(ctx, target("alm.example.com"))
		check(t, rt, Direct, "", SourceNone)
		if !strings.HasSuffix(rt.Note, "; went direct instead") {
			t.Errorf("note = %q", rt.Note)
		}
		if n := rt.NoteWords; n.Code != "route.note.wentDirect" || n.Parts["Note"].Code != "route.note.script" || n.Parts["Note"].Values["Script"] != script {
			t.Errorf("note words = %+v", n)
		}
	})
	t.Run("a PAC that hangs is given up on", func(t *testing.T) {
		sys := &fakeSystem{user: UserSettings{PACURL: script, Proxy: "fixed.corp:8080"}, pac: func(ctx context.Context, _ string) (PACAnswer, error) {
			<-ctx.Done()
			return PACAnswer{}, ctx.Err()
		}}
		start := time.Now()
		rt := mustNew(t, Options{System: sys, PACTimeout: 50 * time.Millisecond}).Route(ctx, target("alm.example.com"))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s", d)
		}
		check(t, rt, Proxy, "fixed.corp:8080", SourceWindows)
		if !strings.Contains(rt.Note, "took longer than 50ms") {
			t.Errorf("note = %q", rt.Note)
		}
		// The same as codes, for the window to word in its language.
		if n := rt.NoteWords; n.Code != "route.note.usedProxy" || n.Values["Source"] != SourceWindows ||
			n.Parts["Note"].Parts["Reason"].Code != "route.pac.tookLonger" || n.Parts["Note"].Parts["Reason"].Values["Within"] != "50ms" {
			t.Errorf("note words = %+v", n)
		}
	})
	t.Run("auto-detect without WPAD: on, quietly", func(t *testing.T) {
		sys := &fakeSystem{user: UserSettings{AutoDetect: true}, pac: func(context.Context, string) (PACAnswer, error) {
			return PACAnswer{}, ErrNoScript
		}}
		rt := mustNew(t, Options{System: sys}).Route(ctx, target("alm.example.com"))
		check(t, rt, Direct, "", SourceNone)
		if rt.Note != "" {
			t.Errorf("note = %q", rt.Note)
		}
	})
	t.Run("auto-detect that finds a script", func(t *testing.T) {
		sys := &fakeSystem{user: UserSettings{AutoDetect: true}, pac: func(context.Context, string) (PACAnswer, error) {
			return PACAnswer{Proxy: "wpad-proxy:8080"}, nil
		}}
		check(t, mustNew(t, Options{System: sys}).Route(ctx, target("alm.example.com")), Proxy, "wpad-proxy:8080", SourceAutoDetect)
	})
}

func TestResolverOverride(t *testing.T) {
	ctx := context.Background()
	sys := &fakeSystem{user: UserSettings{Proxy: "user-proxy:8080"}}
	e := env("HTTPS_PROXY", "env-proxy:3128")
	check(t, mustNew(t, Options{Proxy: "direct", System: sys, Getenv: e}).Route(ctx, target("alm.example.com")), Direct, "", SourceFlag)
	rt := mustNew(t, Options{Proxy: "http://u:pw@flag-proxy:9", System: sys, Getenv: e}).Route(ctx, target("alm.example.com"))
	check(t, rt, Proxy, "flag-proxy:9", SourceFlag)
	if !rt.HasCredentials() || rt.String() != "via flag-proxy:9 (from calmkey's proxy choice)" {
		t.Errorf("route %s, credentials %v", rt, rt.HasCredentials())
	}
	check(t, mustNew(t, Options{Proxy: "system", System: sys, Getenv: e}).Route(ctx, target("alm.example.com")), Proxy, "user-proxy:8080", SourceWindows)
	// Without system settings (Linux, macOS) "system" is the environment.
	if platformSystem() == nil {
		check(t, mustNew(t, Options{Proxy: "system", Getenv: e}).Route(ctx, target("alm.example.com")), Proxy, "env-proxy:3128", SourceHTTPSProxy)
	}

	for _, bad := range []string{"http://user:s3cret@[::1", "socks5://user:s3cret@h:1", "://"} {
		_, err := ParseOverride(bad)
		if err == nil {
			t.Errorf("ParseOverride(%q) took it", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseOverride's error shows the password: %v", err)
		}
	}
}

func TestBypassRules(t *testing.T) {
	ctx := context.Background()
	sys := &fakeSystem{user: UserSettings{
		Proxy:  "proxy.corp:8080",
		Bypass: "<local>; *.intra.corp;10.*, https://secure.corp:8443 other.corp:8080",
	}}
	r := mustNew(t, Options{System: sys})
	for host, bypass := range map[string]bool{
		"intranet":             true, // <local>: no dot
		"alm.example.com":      false,
		"a.intra.corp":         true,
		"A.B.INTRA.CORP":       true,
		"intra.corp":           false, // "*." needs something before it
		"10.1.2.3":             true,
		"110.1.2.3":            false,
		"secure.corp:8443":     true,
		"secure.corp":          false, // another port
		"other.corp":           false, // entry is for 8080
		"other.corp:8080":      true,
		"evil-intra.corp.test": false,
	} {
		rt := r.Route(ctx, target(host))
		if got := rt.Kind == Direct; got != bypass {
			t.Errorf("%s: %s, want bypassed=%v", host, rt, bypass)
		}
		if bypass && rt.Source != SourceWindows+" bypass list" {
			t.Errorf("%s: source %q", host, rt.Source)
		}
	}
	// Loopback is never proxied, whatever the setting or flag.
	for _, o := range []Options{
		{System: sys},
		{Getenv: env("HTTPS_PROXY", "p:1", "NO_PROXY", "")},
		{Proxy: "http://p:1"},
	} {
		rr := mustNew(t, o)
		for _, h := range []string{"127.0.0.1:8443", "localhost", "[::1]:443", "127.8.9.10"} {
			check(t, rr.Route(ctx, target(h)), Direct, "", SourceLoopback)
		}
	}
}

func TestProxyLists(t *testing.T) {
	for list, want := range map[string]string{
		"proxy:8080":                        "http://proxy:8080",
		"proxy":                             "http://proxy:80",
		"http=h1:1;https=h2:2":              "http://h2:2",
		"HTTPS=h2:2 http=h1:1":              "http://h2:2",
		"http=h1:1;ftp=f:21":                "",
		"socks=s:1080":                      "",
		"http://p1:1 p2:2":                  "http://p1:1",
		"https://tls-proxy:8443":            "https://tls-proxy:8443",
		"PROXY a:1; PROXY b:2; DIRECT":      "http://a:1",
		"DIRECT":                            "",
		"http=h1:1;p3:3":                    "http://p3:3",
		"  ;  ":                             "",
		"https=[2001:db8::1]:3128;http=x:1": "http://[2001:db8::1]:3128",
	} {
		u, ok := pickProxy(list)
		got := ""
		if ok {
			got = u.String()
		}
		if got != want {
			t.Errorf("pickProxy(%q) = %q, want %q", list, got, want)
		}
	}
	fixed := &fakeSystem{user: UserSettings{Proxy: "http=only-http:1"}, machine: Fixed{Proxy: "m:2"}}
	check(t, mustNew(t, Options{System: fixed}).Route(context.Background(), target("alm.example.com")), Proxy, "m:2", SourceWinHTTP)
}

func TestRouteJSON(t *testing.T) {
	r := mustNew(t, Options{Proxy: "http://u:s3cret@p.corp:8080"})
	rt := r.Route(context.Background(), target("alm.example.com"))
	b, err := json.Marshal(rt)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"proxy","proxy":"p.corp:8080","source":"calmkey's proxy choice","text":"via p.corp:8080 (from calmkey's proxy choice)"}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	var back Route
	if err := json.Unmarshal(b, &back); err != nil || back.String() != rt.String() {
		t.Errorf("round trip: %v %s", err, back)
	}
	if strings.Contains(rt.String()+string(b), "s3cret") {
		t.Error("the password shows")
	}
}

func TestSettings(t *testing.T) {
	sys := &fakeSystem{user: UserSettings{AutoDetect: true, PACURL: "http://wpad/p.pac", Proxy: "p:1", Bypass: "<local>"}, machine: Fixed{Proxy: "m:2"}}
	r := mustNew(t, Options{System: sys, Proxy: "http://bob:s3cret@flag:3", Getenv: env("HTTPS_PROXY", "http://alice:s3cret@env:8080", "NO_PROXY", ".corp", "http_proxy", "http://u:s3cret@[bad")})
	s := r.Settings()
	b, _ := json.Marshal(s)
	want := `{"override":"http://bob:***@flag:3","environment":[{"name":"HTTPS_PROXY","value":"http://alice:***@env:8080"},{"name":"http_proxy","value":"(not a URL)"},{"name":"NO_PROXY","value":".corp"}],"windows":{"auto_detect":true,"pac_url":"http://wpad/p.pac","proxy":"p:1","bypass":"\u003clocal\u003e"},"winhttp":{"proxy":"m:2"}}`
	if string(b) != want {
		t.Errorf("settings\n%s\nwant\n%s", b, want)
	}
	if strings.Contains(string(b), "s3cret") {
		t.Error("a password shows")
	}
}

// TestRouteHoldsNoPassword: whatever source names a proxy or a script with
// user:password@, the route as shown, as JSON (which the test history
// keeps) and as explained carries no password.
func TestRouteHoldsNoPassword(t *testing.T) {
	ctx := context.Background()
	const pw = "s3cret"
	script := "http://alice:" + pw + "@wpad.corp/proxy.pac"
	failing := func(context.Context, string) (PACAnswer, error) {
		return PACAnswer{}, &PACError{Script: "x", Reason: "could not be downloaded"}
	}
	cases := map[string]Options{
		"--proxy":     {Proxy: "http://bob:" + pw + "@flag.corp:3128"},
		"HTTPS_PROXY": {Getenv: env("HTTPS_PROXY", "http://carol:"+pw+"@env.corp:8080")},
		"fixed":       {System: &fakeSystem{user: UserSettings{Proxy: "dave:" + pw + "@fixed.corp:8080"}}},
		"PAC answer": {System: &fakeSystem{user: UserSettings{PACURL: script}, pac: func(context.Context, string) (PACAnswer, error) {
			return PACAnswer{Proxy: "PROXY erin:" + pw + "@pac.corp:8080"}, nil
		}}},
		"PAC failed":     {System: &fakeSystem{user: UserSettings{PACURL: script, Proxy: "fixed.corp:8080"}, pac: failing}},
		"PAC direct":     {System: &fakeSystem{user: UserSettings{PACURL: script}}},
		"PAC not a URL":  {System: &fakeSystem{user: UserSettings{PACURL: "http://x:" + pw + "@[bad/p.pac"}, pac: failing}},
		"machine":        {System: &fakeSystem{machine: Fixed{Proxy: "http://frank:" + pw + "@m.corp:1"}}},
		"PAC on machine": {System: &fakeSystem{user: UserSettings{PACURL: script}, machine: Fixed{Proxy: "m.corp:1"}, pac: failing}},
	}
	for name, o := range cases {
		rt := mustNew(t, o).Route(ctx, target("alm.example.com"))
		b, err := json.Marshal(rt)
		if err != nil {
			t.Fatal(err)
		}
		var back Route
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		shown := rt.String() + "|" + rt.Note + "|" + rt.Why() + "|" + string(b)
		if strings.Contains(shown, pw) || back.HasCredentials() {
			t.Errorf("%s: a password is kept: %s (read back with credentials: %v)", name, shown, back.HasCredentials())
		}
		if name == "PAC direct" && rt.Source != "PAC http://alice:***@wpad.corp/proxy.pac" {
			t.Errorf("PAC direct: source %q, want the script with its password as ***", rt.Source)
		}
		if name == "PAC answer" && rt.Proxy != "pac.corp:8080" {
			t.Errorf("PAC answer: proxy %q, want pac.corp:8080", rt.Proxy)
		}
	}
	s := mustNew(t, cases["PAC direct"]).Settings()
	if b, _ := json.Marshal(s); strings.Contains(string(b), pw) {
		t.Errorf("the settings show the script's password: %s", b)
	}
}

// TestOverrideErrorIsACode: an unusable proxy setting is an OverrideError,
// its words a code with values, which never quote the value.
func TestOverrideErrorIsACode(t *testing.T) {
	for v, code := range map[string]string{"http://user:s3cret@[bad": "proxy.override.invalid", "ftp://user:s3cret@proxy:21": "proxy.override.scheme"} {
		_, err := New(Options{Proxy: v})
		var oe *OverrideError
		if !errors.As(err, &oe) || oe.Words.Code != code || strings.Contains(fmt.Sprint(oe.Words), "s3cret") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v (%+v), want %s", code, err, oe, code)
		}
	}
}
