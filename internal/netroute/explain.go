package netroute

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Why says in a sentence why a route was chosen, for 'calmkeyctl proxy'.
func (r Route) Why() string {
	s := r.why()
	if r.Note != "" {
		s += " (" + r.Note + ")"
	}
	return s
}

func (r Route) why() string {
	switch src := r.Source; {
	case src == SourceLoopback:
		return "loopback addresses are never sent through a proxy"
	case src == SourceHTTPSProxy && r.Kind == Proxy:
		return "HTTPS_PROXY is set, and the environment comes first"
	case src == SourceHTTPSProxy:
		return "HTTPS_PROXY is set but cannot be used"
	case src == SourceNoProxy:
		return "NO_PROXY names this host"
	case src == SourceEnvironment:
		return "HTTP_PROXY is set, which counts for http:// only, and HTTPS_PROXY is not"
	case src == SourceFlag && r.Kind == Proxy:
		return "this proxy was chosen for calmkey (calmkeyctl test --proxy, or Proxy… in the window)"
	case src == SourceFlag:
		return "direct was chosen for calmkey (calmkeyctl test --proxy direct, or Direct under Proxy… in the window)"
	case src == SourceWindows:
		return "the proxy server in Windows' proxy settings for this user"
	case src == SourceWindows+" bypass list":
		return "the host is on the bypass list of Windows' proxy settings"
	case src == SourceWinHTTP:
		return "the machine-wide WinHTTP proxy (netsh winhttp set proxy)"
	case src == SourceWinHTTP+" bypass list":
		return "the host is on the bypass list of the machine-wide WinHTTP proxy"
	case src == SourceAutoDetect && r.Kind == Proxy:
		return "the proxy script that auto-detect (WPAD) found names this proxy"
	case src == SourceAutoDetect:
		return "the proxy script that auto-detect (WPAD) found says DIRECT"
	case strings.HasPrefix(src, "PAC ") && r.Kind == Proxy:
		return "the proxy script " + strings.TrimPrefix(src, "PAC ") + " names this proxy"
	case strings.HasPrefix(src, "PAC "):
		return "the proxy script " + strings.TrimPrefix(src, "PAC ") + " says DIRECT"
	case platformSystem() == nil:
		return "no proxy is set: HTTPS_PROXY is not set, and on Linux and macOS the environment is where proxies are set"
	}
	return "no proxy is set (not in the environment, Windows' proxy settings or WinHTTP)"
}

// Words is what Explain found, as a code with values and parts (phrases
// of their own that fill a placeholder). almtest holds the English of the
// codes (proxy.*, hint.proxy.*), so that a report and the window word them
// from one table, the window in its language.
type Words struct {
	Code   string            `json:"code"`
	Values map[string]string `json:"values,omitempty"`
	Parts  map[string]Words  `json:"parts,omitempty"`
}

func words(code string, nameValues ...string) Words {
	w := Words{Code: code, Values: map[string]string{}}
	for i := 0; i+1 < len(nameValues); i += 2 {
		w.Values[nameValues[i]] = nameValues[i+1]
	}
	return w
}

// with is w with the placeholder name filled by part.
func (w Words) with(name string, part Words) Words {
	parts := map[string]Words{name: part}
	for k, v := range w.Parts {
		parts[k] = v
	}
	w.Parts = parts
	return w
}

// setting names where the route's proxy is set, for hints: "HTTPS_PROXY",
// "Windows' proxy settings", ...
func (r Route) setting() Words {
	switch src := r.Source; {
	case src == SourceHTTPSProxy:
		return words("proxy.setting.env")
	case src == SourceFlag:
		return words("proxy.setting.choice")
	case src == SourceWinHTTP:
		return words("proxy.setting.winhttp")
	case strings.HasPrefix(src, "PAC "), src == SourceAutoDetect:
		return words("proxy.setting.script", "Source", src)
	}
	return words("proxy.setting.windows")
}

// Explain tells a failure at the proxy for a user: what happened and what
// to do. ok is false when err is not the proxy's (then the host's own
// diagnosis applies). host is the host the connection was for.
func Explain(err error, host string) (detail, hint Words, ok bool) {
	var re *RouteError
	rt := Route{}
	if errors.As(err, &re) {
		rt = re.Route
	}
	set := rt.setting()
	var (
		unreach  *UnreachableError
		auth     *AuthError
		neg      *NegotiateError
		refused  *RefusedError
		closed   *ClosedError
		notProxy = words("hint.proxy.check").with("Setting", set)
	)
	switch {
	case errors.As(err, &unreach):
		return unreachable(err, unreach.Proxy, notProxy)
	case errors.As(err, &neg):
		if errors.Is(err, ErrRejected) {
			return words("proxy.negotiateRejected", "Proxy", neg.Proxy, "SPN", neg.SPN),
				words("hint.proxy.spn", "SPN", neg.SPN).with("Setting", set), true
		}
		return words("proxy.negotiateFailed", "Proxy", neg.Proxy, "SPN", neg.SPN, "Error", fmt.Sprint(neg.Err)),
			words("hint.proxy.kerberos", "SPN", neg.SPN), true
	case errors.As(err, &auth):
		return authWords(auth), authHint(auth, set), true
	case errors.As(err, &refused):
		return refusedWords(refused, host, set)
	case errors.As(err, &closed):
		return words("proxy.closed", "Proxy", closed.Proxy, "Host", host),
			words("hint.proxy.closed", "Host", host).with("Check", notProxy), true
	}
	return Words{}, Words{}, false
}

// unreachable tells why the proxy p could not be reached.
func unreachable(err error, p string, notProxy Words) (detail, hint Words, ok bool) {
	var (
		verify *tls.CertificateVerificationError
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case errors.As(err, &verify):
		return words("proxy.untrusted", "Proxy", p), words("hint.proxy.untrusted"), true
	case errors.As(err, &dnsErr):
		return words("proxy.dns", "Proxy", p), notProxy, true
	case isRefused(err):
		return words("proxy.refused", "Proxy", p), notProxy, true
	case errors.As(err, &netErr) && netErr.Timeout():
		return words("proxy.timeout", "Proxy", p), words("hint.proxy.timeout").with("Check", notProxy), true
	}
	return words("proxy.unreachable", "Proxy", p), notProxy, true
}

// authWords is AuthError's text as Words.
func authWords(e *AuthError) Words {
	offered := words("proxy.offers.none")
	if len(e.Offered) > 0 {
		offered = words("proxy.offers", "Schemes", strings.Join(e.Offered, ", "))
	}
	if e.Tried == "" {
		return words("proxy.authNone", "Proxy", e.Proxy).with("Offered", offered)
	}
	return words("proxy.authRejected", "Proxy", e.Proxy, "Tried", e.Tried).with("Offered", offered)
}

func authHint(e *AuthError, set Words) Words {
	switch {
	case e.Tried == "Basic":
		return words("hint.proxy.auth.password").with("Setting", set)
	case has(e.Offered, "Negotiate") && platformNegotiate == nil && has(e.Offered, "Basic"):
		return words("hint.proxy.auth.negotiateOrBasic")
	case has(e.Offered, "Negotiate") && platformNegotiate == nil:
		return words("hint.proxy.auth.negotiateOnly")
	case has(e.Offered, "Basic"):
		return words("hint.proxy.auth.basic")
	case len(e.Offered) == 0:
		return words("hint.proxy.auth.none")
	case has(e.Offered, "NTLM"):
		return words("hint.proxy.auth.ntlm")
	}
	return words("hint.proxy.auth.other")
}

func refusedWords(e *RefusedError, host string, set Words) (Words, Words, bool) {
	status := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	detail := words("proxy.refusedTarget", "Proxy", e.Proxy, "Host", host, "Status", status)
	switch s := e.Status; {
	case s == http.StatusForbidden:
		return detail, words("hint.proxy.forbidden", "Host", host).with("Setting", set), true
	case s == http.StatusBadGateway || s == http.StatusGatewayTimeout || s == http.StatusServiceUnavailable:
		return words("proxy.cannotReach", "Proxy", e.Proxy, "Host", host, "Status", status), words("hint.proxy.badGateway"), true
	}
	return detail, words("hint.proxy.refused", "Host", host).with("Setting", set), true
}
