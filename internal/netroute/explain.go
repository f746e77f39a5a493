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

// setting names where the route's proxy is set, for hints: "HTTPS_PROXY",
// "Windows' proxy settings", ...
func (r Route) setting() string {
	switch src := r.Source; {
	case src == SourceHTTPSProxy:
		return "HTTPS_PROXY"
	case src == SourceFlag:
		return "calmkey's proxy choice: calmkeyctl test --proxy, or Proxy… in the window"
	case src == SourceWinHTTP:
		return "the WinHTTP proxy (netsh winhttp show proxy)"
	case strings.HasPrefix(src, "PAC "), src == SourceAutoDetect:
		return "the proxy script (" + src + ")"
	}
	return "Windows' proxy settings"
}

// Explain words a failure at the proxy for a user: what happened and what
// to do. ok is false when err is not the proxy's (then the host's own
// diagnosis applies). host is the host the connection was for.
func Explain(err error, host string) (detail, hint string, ok bool) {
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
		verify   *tls.CertificateVerificationError
		dnsErr   *net.DNSError
		netErr   net.Error
		notProxy = fmt.Sprintf("Check %s, or ask your network administrators which proxy to use.", set)
	)
	switch {
	case errors.As(err, &unreach):
		p := unreach.Proxy
		switch {
		case errors.As(err, &verify):
			return fmt.Sprintf("the certificate of the proxy %s cannot be verified", p),
				"The proxy is an https proxy whose certificate is not trusted here: add its root certificate to the system's trust store, or set SSL_CERT_FILE to a PEM file that holds it. Certificate checks cannot be turned off.", true
		case errors.As(err, &dnsErr):
			return fmt.Sprintf("the proxy %s cannot be found (DNS)", p), notProxy, true
		case isRefused(err):
			return fmt.Sprintf("the proxy %s refused the connection", p), notProxy, true
		case errors.As(err, &netErr) && netErr.Timeout():
			return fmt.Sprintf("connecting to the proxy %s timed out", p), "A firewall may drop the traffic to the proxy, or the proxy is down. " + notProxy, true
		}
		return fmt.Sprintf("the proxy %s cannot be reached", p), notProxy, true
	case errors.As(err, &neg):
		if errors.Is(err, ErrRejected) {
			return fmt.Sprintf("the proxy %s did not accept the Windows logon (Negotiate, SPN %s)", neg.Proxy, neg.SPN),
				fmt.Sprintf("Kerberos needs the SPN %s registered for the proxy's name as it is set in %s: set the proxy by its DNS name, not an IP address or alias, or ask your network administrators to register the SPN. Signing out and in again renews the Windows logon.", neg.SPN, set), true
		}
		return fmt.Sprintf("Windows could not log on to the proxy %s (Negotiate, SPN %s): %v", neg.Proxy, neg.SPN, neg.Err),
			fmt.Sprintf("Check that this computer can reach its domain (Kerberos), and that %s is the proxy's name its SPN is registered for; ask your network administrators if it keeps happening.", neg.SPN), true
	case errors.As(err, &auth):
		return auth.Error(), authHint(auth, set), true
	case errors.As(err, &refused):
		return refusedWords(refused, host, set)
	case errors.As(err, &closed):
		return fmt.Sprintf("the proxy %s closed the connection instead of opening a tunnel to %s", closed.Proxy, host),
			fmt.Sprintf("The proxy may not allow connections to %s from this computer, or want a logon it does not announce. %s", host, notProxy), true
	}
	return "", "", false
}

func authHint(e *AuthError, set string) string {
	switch {
	case e.Tried == "Basic":
		return fmt.Sprintf("Check the user name and password in the proxy URL (%s); characters such as @ : / %% in them must be percent-encoded, @ as %%40.", set)
	case has(e.Offered, "Negotiate") && platformNegotiate == nil && has(e.Offered, "Basic"):
		return "The proxy wants a Windows logon (Negotiate), which only works on Windows, or a user name and password: give them in the proxy URL, http://user:password@host:port (HTTPS_PROXY or --proxy)."
	case has(e.Offered, "Negotiate") && platformNegotiate == nil:
		return "The proxy wants a Windows logon (Negotiate), which only works on Windows: run the test on Windows, or ask your network administrators for a proxy or rule that lets this computer through."
	case has(e.Offered, "Basic"):
		return "The proxy wants a user name and password: give them in the proxy URL, http://user:password@host:port (HTTPS_PROXY or --proxy)."
	case len(e.Offered) == 0:
		return "The proxy names no way to authenticate; if it takes a user name and password, give them in the proxy URL, http://user:password@host:port (HTTPS_PROXY or --proxy)."
	case has(e.Offered, "NTLM"):
		return "The proxy offers only NTLM, which calmkey does not speak (it speaks Negotiate and Basic): ask your network administrators to enable Negotiate for the proxy, or to let this computer through."
	}
	return "calmkey speaks Negotiate (Windows logon) and Basic: ask your network administrators to enable one of them for the proxy, or to let this computer through."
}

func refusedWords(e *RefusedError, host, set string) (string, string, bool) {
	detail := fmt.Sprintf("the proxy %s refused to connect to %s (HTTP %d %s)", e.Proxy, host, e.Status, http.StatusText(e.Status))
	switch s := e.Status; {
	case s == http.StatusForbidden:
		return detail, fmt.Sprintf("The proxy does not allow %s: ask your network administrators to allow it, or, where the host is reachable directly, add it to the proxy's exceptions (NO_PROXY, or the bypass list in %s).", host, set), true
	case s == http.StatusBadGateway || s == http.StatusGatewayTimeout || s == http.StatusServiceUnavailable:
		return fmt.Sprintf("the proxy %s could not reach %s (HTTP %d %s)", e.Proxy, host, e.Status, http.StatusText(e.Status)),
			"The proxy itself cannot get through to the host: check the host name in the key; if it is right, the trouble is on the proxy's side or beyond it. Try again later.", true
	}
	return detail, fmt.Sprintf("Check %s, or ask your network administrators whether the proxy lets %s through.", set, host), true
}
