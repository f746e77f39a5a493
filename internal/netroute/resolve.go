package netroute

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// DefaultPACTimeout bounds one PAC or auto-detect look-up: fetching and
// running the script. Windows' own limit is far longer; a test should say
// what happened well before the user gives up.
const DefaultPACTimeout = 10 * time.Second

// Options choose how a Resolver decides.
type Options struct {
	// Proxy overrides the order: "" (or "auto") follows it; "direct" goes
	// direct; "system" takes the system's settings and ignores the
	// environment (on Linux and macOS the environment is the system's
	// setting, so there it is the same as ""); anything else is a proxy
	// URL, http://[user:password@]host:port, used for every host but
	// loopback. Check it first with ParseOverride.
	Proxy string
	// Getenv reads the environment; nil is os.Getenv.
	Getenv func(string) string
	// System holds the platform's proxy settings; nil is this platform's
	// (Windows: WinHTTP; elsewhere none). Tests give fakes.
	System System
	// PACTimeout bounds one PAC look-up; 0 is DefaultPACTimeout.
	PACTimeout time.Duration
}

// System is what the operating system says about proxies beyond the
// environment: Windows' settings for the user, its PAC engine, and the
// machine-wide WinHTTP proxy.
type System interface {
	// User is the user's Internet Options (WinHttpGetIEProxyConfigForCurrentUser).
	User() (UserSettings, error)
	// PAC finds the proxy for target with the user's script or
	// auto-detect (WinHttpGetProxyForUrl). ErrNoScript: auto-detect found
	// none. Other failures are *PACError.
	PAC(ctx context.Context, target string, s UserSettings) (PACAnswer, error)
	// Machine is the WinHTTP default proxy (netsh winhttp set proxy);
	// Proxy is "" when there is none.
	Machine() (Fixed, error)
}

// UserSettings are Windows' Internet Options for the user, as WinHTTP
// reads them: Proxy is "host:port" or "http=host:port;https=host:port";
// Bypass is the bypass list ("<local>;*.corp.example").
type UserSettings struct {
	AutoDetect bool
	PACURL     string
	Proxy      string
	Bypass     string
}

// Fixed is a fixed proxy and its bypass list.
type Fixed struct {
	Proxy  string `json:"proxy"`
	Bypass string `json:"bypass,omitempty"`
}

// PACAnswer is what a PAC script (or auto-detect) said for one URL.
type PACAnswer struct {
	Direct bool
	Proxy  string // the proxies in the script's order, as WinHTTP lists them
}

// ErrNoScript: auto-detect (WPAD) found no proxy script, the usual case on
// networks without one.
var ErrNoScript = errors.New("auto-detect found no proxy script")

// PACError is a PAC script that could not be fetched or run.
type PACError struct {
	Script string // the script's URL, or "auto-detect"
	Reason string // "could not be downloaded", "took longer than 10s", ...
	Why    Words  // Reason as a code (route.pac.*); zero when made elsewhere
	Err    error
}

func (e *PACError) Error() string { return "the proxy script " + e.Script + " " + e.Reason }
func (e *PACError) Unwrap() error { return e.Err }

// Resolver decides each host's route. Windows' settings are read once per
// Resolver, and each PAC answer is kept in it: make one per test run, so
// that a changed setting takes effect at the next run, not the next start.
type Resolver struct {
	opts       Options
	getenv     func(string) string
	sys        System
	pacTimeout time.Duration
	override   *url.URL // Proxy as a URL

	mu       sync.Mutex
	user     *UserSettings
	userErr  error
	machine  *Fixed
	pac      map[string]pacResult
	pacBroke *pacResult // a script that failed once is not tried again
}

type pacResult struct {
	ans PACAnswer
	err error
}

// ParseOverride checks a --proxy value: "", "auto", "direct", "system" or
// a proxy URL with a host (http:// is assumed when it has no scheme). The
// error never repeats the value, which may hold a password.
func ParseOverride(v string) (*url.URL, error) {
	switch v {
	case "", "auto", "direct", "system":
		return nil, nil
	}
	u, err := parseProxyURL(v)
	if err != nil {
		return nil, &OverrideError{words("proxy.override.invalid")}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, &OverrideError{words("proxy.override.scheme", "Scheme", strconv.Quote(u.Scheme))}
	}
	return u, nil
}

// New makes a Resolver; it fails only for an Options.Proxy that
// ParseOverride refuses.
func New(opts Options) (*Resolver, error) {
	o, err := ParseOverride(opts.Proxy)
	if err != nil {
		return nil, err
	}
	r := &Resolver{opts: opts, getenv: opts.Getenv, sys: opts.System, pacTimeout: opts.PACTimeout, override: o, pac: map[string]pacResult{}}
	if r.getenv == nil {
		r.getenv = os.Getenv
	}
	if r.sys == nil {
		r.sys = platformSystem()
	}
	if r.pacTimeout <= 0 {
		r.pacTimeout = DefaultPACTimeout
	}
	return r, nil
}

// Route is the route to target (an https URL; only its host and port
// count). It never fails: what went wrong on the way (a PAC script that
// failed) is the route's Note.
func (r *Resolver) Route(ctx context.Context, target *url.URL) Route {
	host := target.Hostname()
	if isLoopback(host) {
		return direct(SourceLoopback)
	}
	switch {
	case r.opts.Proxy == "direct":
		return direct(SourceFlag)
	case r.override != nil:
		return via(withPort(r.override), SourceFlag)
	case r.opts.Proxy == "system" && r.sys != nil:
		return r.system(ctx, target)
	}
	if rt, ok := r.environment(target); ok {
		return rt
	}
	if r.sys == nil {
		return direct(SourceNone)
	}
	return r.system(ctx, target)
}

// envNames are the variables that put the environment in charge.
var envNames = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"}

// environment follows HTTPS_PROXY and NO_PROXY as net/http does, when any
// proxy variable is set; its answer is final.
func (r *Resolver) environment(target *url.URL) (Route, bool) {
	set := false
	for _, n := range envNames {
		if r.getenv(n) != "" {
			set = true
		}
	}
	if !set {
		return Route{}, false
	}
	first := func(a, b string) string {
		if v := r.getenv(a); v != "" {
			return v
		}
		return r.getenv(b)
	}
	cfg := httpproxy.Config{
		HTTPSProxy: first("HTTPS_PROXY", "https_proxy"),
		HTTPProxy:  first("HTTP_PROXY", "http_proxy"),
		NoProxy:    first("NO_PROXY", "no_proxy"),
		CGI:        r.getenv("REQUEST_METHOD") != "",
	}
	switch {
	case cfg.HTTPSProxy == "":
		return noted(direct(SourceEnvironment), words("route.note.httpOnly")), true
	case !readable(cfg.HTTPSProxy):
		// Not the variable's text: it may hold the proxy's password.
		return noted(direct(SourceHTTPSProxy), words("route.note.badHTTPSProxy")), true
	}
	if u, _ := cfg.ProxyFunc()(target); u != nil {
		return via(withPort(u), SourceHTTPSProxy), true
	}
	return direct(SourceNoProxy), true
}

// system follows Windows' order: the user's PAC or auto-detect, the user's
// fixed proxy, the machine's WinHTTP proxy, direct.
func (r *Resolver) system(ctx context.Context, target *url.URL) Route {
	us, err := r.userSettings()
	var note Words
	if err != nil {
		note = words("route.note.windowsUnreadable")
	}
	if err == nil && (us.AutoDetect || us.PACURL != "") {
		script := SourceAutoDetect
		if us.PACURL != "" {
			script = "PAC " + scriptName(us)
		}
		ans, err := r.pacFor(ctx, target, us)
		switch {
		case err == nil && ans.Direct:
			return direct(script)
		case err == nil:
			if u, ok := pickProxy(ans.Proxy); ok {
				return via(u, script)
			}
			note = words("route.note.scriptNoProxy", "Script", scriptName(us))
		case errors.Is(err, ErrNoScript) && us.PACURL == "":
			// The usual case: auto-detect is on by default and most
			// networks have no WPAD.
		default:
			var pe *PACError
			if errors.As(err, &pe) {
				note = pacNote(pe)
			} else {
				note = words("route.note.scriptFailed", "Script", scriptName(us))
			}
		}
	}
	used := func(rt Route) Route {
		switch {
		case note.Code == "":
		case rt.Kind == Proxy:
			rt = noted(rt, words("route.note.usedProxy", "Proxy", rt.Proxy, "Source", rt.Source).with("Note", note))
		default:
			rt = noted(rt, words("route.note.wentDirect").with("Note", note))
		}
		return rt
	}
	if err == nil && us.Proxy != "" {
		if rt, ok := fixedRoute(target, Fixed{us.Proxy, us.Bypass}, SourceWindows); ok {
			return used(rt)
		}
	}
	if m := r.machineSettings(); m.Proxy != "" {
		if rt, ok := fixedRoute(target, m, SourceWinHTTP); ok {
			return used(rt)
		}
	}
	return used(direct(SourceNone))
}

// scriptName is the user's proxy script as routes and errors name it: its
// URL without a password, since a route is shown, written to --json and
// kept in the test history.
func scriptName(us UserSettings) string {
	if us.PACURL != "" {
		return MaskScript(us.PACURL)
	}
	return "found by auto-detect"
}

// MaskScript is a PAC script's URL with its password, if any, as ***; a
// value that cannot be read as a URL but may hold user:password@ is shown
// only as "(not a URL)".
func MaskScript(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		if strings.Contains(v, "@") {
			return "(not a URL)"
		}
		return v
	}
	if u.User == nil {
		return v
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}

// fixedRoute applies a fixed proxy and its bypass list; ok is false when
// the proxy list names none for https.
func fixedRoute(target *url.URL, f Fixed, source string) (Route, bool) {
	if bypassed(f.Bypass, target) {
		return direct(source + " bypass list"), true
	}
	u, ok := pickProxyFor(f.Proxy, "https")
	if !ok {
		return Route{}, false
	}
	return via(u, source), true
}

func (r *Resolver) userSettings() (UserSettings, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.user == nil && r.userErr == nil {
		us, err := r.sys.User()
		r.user, r.userErr = &us, err
	}
	return *r.user, r.userErr
}

func (r *Resolver) machineSettings() Fixed {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.machine == nil {
		m, err := r.sys.Machine()
		if err != nil {
			m = Fixed{}
		}
		r.machine = &m
	}
	return *r.machine
}

// pacFor asks the script once per host and run; a script that failed is
// not asked again in the same run, so a second host does not wait out the
// same time limit.
func (r *Resolver) pacFor(ctx context.Context, target *url.URL, us UserSettings) (PACAnswer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pacBroke != nil {
		return r.pacBroke.ans, r.pacBroke.err
	}
	key := strings.ToLower(target.Host)
	if res, ok := r.pac[key]; ok {
		return res.ans, res.err
	}
	pctx, cancel := context.WithTimeout(ctx, r.pacTimeout)
	defer cancel()
	// The script sees the URL of the request; the path is not ours to
	// tell it, and some scripts log what they are asked.
	ans, err := r.sys.PAC(pctx, (&url.URL{Scheme: "https", Host: target.Host, Path: "/"}).String(), us)
	if err != nil && pctx.Err() != nil && ctx.Err() == nil {
		var pe *PACError
		if !errors.As(err, &pe) {
			err = newPACError(scriptName(us), words("route.pac.tookLonger", "Within", r.pacTimeout.String()), err)
		}
	}
	res := pacResult{ans, err}
	if err != nil && !errors.Is(err, ErrNoScript) {
		r.pacBroke = &res
	}
	r.pac[key] = res
	return ans, err
}

// pickProxy is the first usable proxy of a PAC answer or proxy list.
func pickProxy(list string) (*url.URL, bool) { return pickProxyFor(list, "https") }

// pickProxyFor picks the proxy for scheme from a WinHTTP proxy list:
// entries split by ';' or blanks, each "host:port", "scheme=host:port"
// or a URL ("https://host:port" is a proxy spoken to over TLS); a PAC's
// "PROXY host:port" and "HTTPS host:port" are read too. Entries for
// scheme come first, then those for every scheme; "socks=" and other
// schemes' entries are not used.
func pickProxyFor(list, scheme string) (*url.URL, bool) {
	var general *url.URL
	for _, e := range proxyEntries(list) {
		for_, value, hasFor := strings.Cut(e, "=")
		if !hasFor {
			value = e
		}
		if hasFor && !strings.EqualFold(strings.TrimSpace(for_), scheme) {
			continue
		}
		u, err := parseProxyURL(strings.TrimSpace(value))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		u = withPort(u)
		if hasFor {
			return u, true
		}
		if general == nil {
			general = u
		}
	}
	return general, general != nil
}

// proxyEntries splits a proxy list: by ';', then by blanks, except that a
// PAC's "PROXY host:port" and "HTTPS host:port" stay one entry (as
// http://host:port and https://host:port). A PAC's DIRECT ends the list.
func proxyEntries(list string) []string {
	var out []string
	for _, part := range strings.Split(list, ";") {
		f := strings.Fields(part)
		for i := 0; i < len(f); i++ {
			word := strings.ToUpper(f[i])
			switch {
			case word == "DIRECT":
				return out
			case (word == "PROXY" || word == "HTTP") && i+1 < len(f):
				out = append(out, "http://"+f[i+1])
				i++
			case word == "HTTPS" && i+1 < len(f):
				out = append(out, "https://"+f[i+1])
				i++
			case strings.HasPrefix(word, "SOCKS") && i+1 < len(f):
				i++
			default:
				out = append(out, f[i])
			}
		}
	}
	return out
}

// parseProxyURL reads a proxy as httpproxy does: a URL, or host:port to
// which http:// is added.
func parseProxyURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err == nil && u.Scheme != "" && u.Host != "" {
		return u, nil
	}
	if strings.Contains(v, "://") {
		return nil, errors.New("not a proxy address")
	}
	u, err = url.Parse("http://" + v)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("not a proxy address")
	}
	return u, nil
}

// readable: httpproxy can read v as a proxy (it goes direct when not).
func readable(v string) bool {
	_, err := parseProxyURL(v)
	return err == nil
}

// withPort is u with its port spelt out: 80 for http, 443 for https, as
// net/http fills it in.
func withPort(u *url.URL) *url.URL {
	q := *u
	if q.Port() == "" {
		port := "80"
		if q.Scheme == "https" {
			port = "443"
		}
		q.Host = net.JoinHostPort(q.Hostname(), port)
	}
	return &q
}

// isLoopback: localhost, 127/8, ::1. Never proxied, whatever the settings.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// bypassed applies Windows' bypass list to target: entries split by ';',
// ',' or blanks; "<local>" is a host name without a dot; '*' matches any
// run of characters; an entry with a port matches that port only; an
// entry's scheme ("https://") must be the target's. Case does not count.
func bypassed(list string, target *url.URL) bool {
	host := strings.ToLower(target.Hostname())
	port := target.Port()
	if port == "" {
		port = "443"
		if target.Scheme == "http" {
			port = "80"
		}
	}
	for _, e := range strings.FieldsFunc(strings.ToLower(list), func(r rune) bool {
		return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}) {
		switch e {
		case "<local>":
			if _, err := netip.ParseAddr(host); err != nil && !strings.Contains(host, ".") {
				return true
			}
			continue
		case "<-loopback>":
			continue
		}
		if scheme, rest, ok := strings.Cut(e, "://"); ok {
			if scheme != target.Scheme {
				continue
			}
			e = rest
		}
		eh, ep := e, ""
		if h, p, err := net.SplitHostPort(e); err == nil {
			eh, ep = h, p
		}
		if ep != "" && ep != port && ep != "*" {
			continue
		}
		if glob(eh, host) {
			return true
		}
	}
	return false
}

// glob matches s against a pattern in which '*' stands for any run of
// characters, and nothing else is special.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
