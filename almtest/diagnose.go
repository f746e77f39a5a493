package almtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// diagnosis is what went wrong with a step, in the user's terms.
type diagnosis struct {
	status      Status
	detail      string
	hint        string
	keyRejected bool
}

func failed(detail, hint string) diagnosis {
	return diagnosis{status: StatusFail, detail: detail, hint: hint}
}

// Hints that several diagnoses share.
const (
	hintSlow  = "The network or the server is slow, or a firewall silently drops the traffic. Try again; if it keeps happening, allow more time, or run calmkeyctl proxy to see the route each host takes and why."
	hintTrust = "A TLS-inspecting proxy or firewall probably replaces the server's certificate: add its root certificate to the system's trust store, or set SSL_CERT_FILE to a PEM file that holds it. Certificate checks cannot be turned off."
)

// proxyHint names the way the step went out and where to see and change
// it. It holds on every OS: the route may come from HTTPS_PROXY, Windows'
// settings, a PAC script or --proxy, and calmkeyctl proxy shows which.
func proxyHint(rt *netroute.Route) string {
	how := func(which string) string {
		return "run calmkeyctl proxy to see the route each host takes and why, and set HTTPS_PROXY (and NO_PROXY for hosts reached directly) or choose " + which + " with calmkeyctl test --proxy or Proxy… in the window."
	}
	switch {
	case rt == nil:
		return "If your network requires a proxy, " + how("one")
	case rt.Kind == netroute.Proxy:
		return "This step went " + rt.String() + ". If that is not the way out of your network, " + how("another")
	}
	return "This step went " + rt.String() + ". If your network requires a proxy, " + how("one")
}

// ctxFailure reports a run that ran out of time or was cancelled, whatever
// error that surfaced as.
func (ru *runner) ctxFailure(host string) (diagnosis, bool) {
	if ru.ctx.Err() == nil {
		return diagnosis{}, false
	}
	if errors.Is(ru.parent.Err(), context.Canceled) {
		return failed("cancelled while waiting for "+host, ""), true
	}
	return failed(fmt.Sprintf("no answer from %s before the time limit of %s ran out", host, humanDuration(ru.limit)), hintSlow), true
}

// tokenFailure explains a token request that got no token.
func (ru *runner) tokenFailure(err error, ex exchangeFacts, u *url.URL, field string) diagnosis {
	if d, ok := ru.ctxFailure(u.Host); ok {
		return d
	}
	if ex.status == 0 {
		return ru.transportFailure(err, ex, u, field)
	}
	host := u.Host
	code, desc := "", ""
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code, desc = re.ErrorCode, re.ErrorDescription
	}
	says := ru.serverSays(ex.status, code, desc)
	x509Key := ru.key.CredentialType == vault.X509
	switch s := ex.status; {
	case s >= 300 && s < 400:
		return failed(
			fmt.Sprintf("the token endpoint at %s redirected to %s (HTTP %d); the redirect was not followed, so the credentials went to no other host", host, ru.redirectTarget(u, ex.header), s),
			fmt.Sprintf("SAP's token endpoints do not redirect: a proxy or captive portal may be intercepting, or %s in the key is out of date. Check both.", field))
	case s == http.StatusUnauthorized || code == "invalid_client" || strings.EqualFold(desc, "Bad credentials"):
		d := failed(
			fmt.Sprintf("the token server at %s rejected the key's credentials (%s)", host, says),
			"The key or its service instance was probably deleted or regenerated in the SAP BTP cockpit. Delete the key here too, then upload a current key from the cockpit.")
		d.keyRejected = true
		return d
	case s == http.StatusNotFound:
		hint := "Check uaa.url in the key: it is the subaccount's XSUAA address, https://<subdomain>.authentication.<region>.hana.ondemand.com, with nothing after the host."
		if x509Key {
			hint = "x509 keys get their token from uaa.certurl, the host with .authentication.cert. in its name, not from uaa.url."
			if cu, uu := hostOf(ru.key.CertURL), hostOf(ru.key.UAAURL); cu != "" && strings.EqualFold(cu, uu) {
				hint += " In this key certurl names the same host as url."
			}
			hint += " Upload the key exactly as the SAP BTP cockpit gives it."
		}
		return failed(fmt.Sprintf("the token endpoint %s was not found at %s (%s)", u.Path, host, says), hint)
	case s == http.StatusMethodNotAllowed:
		return failed(fmt.Sprintf("the server at %s does not take token requests at %s (%s)", host, u.Path, says),
			fmt.Sprintf("%s in the key seems to point at something other than the XSUAA token service; upload the key exactly as the SAP BTP cockpit gives it.", field))
	case s == http.StatusTooManyRequests:
		return failed(fmt.Sprintf("the token server at %s is limiting requests (%s)", host, says), "Wait a minute, then try again.")
	case s >= 500:
		return failed(fmt.Sprintf("the token server at %s has a problem (%s)", host, says),
			"The trouble is on the server's side, not the key's. Try again in a few minutes; if it persists, check SAP's cloud status for the region.")
	case s >= 200 && s < 300:
		return failed(fmt.Sprintf("the token endpoint at %s answered HTTP %d, but with %s, not a token", host, s, ru.replyKind(ex.header, ex.body)),
			fmt.Sprintf("A proxy or login page may be answering in place of XSUAA, or %s points at another service. Check %s, and run calmkeyctl proxy to see the route each host takes and why.", field, field))
	default:
		return failed(fmt.Sprintf("the token server at %s refused the request (%s)", host, says),
			"Check that this is an SAP Cloud ALM API service key, unchanged from the SAP BTP cockpit; if it is, create a new key there and upload it.")
	}
}

// apiStatus judges the API's answer to a request that got one.
func (ru *runner) apiStatus(resp *http.Response, u *url.URL) diagnosis {
	host := u.Host
	s := resp.StatusCode
	switch {
	case s >= 200 && s < 300:
		return diagnosis{status: StatusOK, detail: fmt.Sprintf("the API at %s accepted the token (HTTP %d)", host, s)}
	case s == http.StatusForbidden:
		return diagnosis{
			status: StatusWarn,
			detail: fmt.Sprintf("the API at %s accepted the token, but the key lacks the scope %s to read projects (HTTP 403)", host, ReadScope),
			hint:   "Logon works. Keys made for monitoring usually lack this scope; if this key must read projects, grant it in the SAP BTP cockpit.",
		}
	case s == http.StatusUnauthorized:
		return failed(fmt.Sprintf("the API at %s rejected the token from %s (HTTP 401)", host, hostOf(ru.key.TokenURL())),
			"The token comes from another tenant or region than the API: check that endpoints.Api and uaa.url in the key belong to the same SAP Cloud ALM tenant, and upload the key that tenant's cockpit gives.")
	case s >= 300 && s < 400:
		return failed(fmt.Sprintf("the API at %s redirected to %s (HTTP %d); the redirect was not followed, so the token went to no other host", host, ru.redirectTarget(u, resp.Header), s),
			"The SAP Cloud ALM API does not redirect: a proxy or login page may be intercepting, or endpoints.Api in the key is out of date.")
	case s == http.StatusNotFound:
		return failed(fmt.Sprintf("the API path %s was not found at %s (HTTP 404)", u.Path+ProjectsPath, host),
			"Check endpoints.Api in the key: it looks like https://<region>.alm.cloud.sap/api or https://<tenant>.<region>.alm.cloud.sap/api.")
	case s == http.StatusTooManyRequests:
		return failed(fmt.Sprintf("the API at %s is limiting requests (HTTP 429)", host), "Wait a minute, then try again.")
	case s >= 500:
		return failed(fmt.Sprintf("the API at %s has a problem (HTTP %d)", host, s),
			"The key got a token, so its credentials are good; the trouble is on the server's side. Try again in a few minutes.")
	default:
		return failed(fmt.Sprintf("the API at %s answered HTTP %d", host, s),
			"Check endpoints.Api in the key; upload the key exactly as the SAP BTP cockpit gives it.")
	}
}

// transportFailure explains a request that got no HTTP answer.
func (ru *runner) transportFailure(err error, ex exchangeFacts, u *url.URL, field string) diagnosis {
	d := ru.connectionFailure(err, ex, u, field)
	if rt := ex.route; rt != nil && rt.Note != "" && d.status == StatusFail {
		// What went wrong on the way to the route (an unreadable
		// HTTPS_PROXY, a PAC script that failed) may be why. The note
		// never holds a proxy's password.
		d.hint = sentence(rt.Note) + " " + d.hint
	}
	return d
}

// connectionFailure explains a request that got no HTTP answer, from the
// outermost trouble in: the run's time, the proxy, finding and reaching the
// host, its certificate, the TLS handshake, then the network.
func (ru *runner) connectionFailure(err error, ex exchangeFacts, u *url.URL, field string) diagnosis {
	host := u.Host
	if d, ok := ru.ctxFailure(host); ok {
		return d
	}
	// The proxy's own failures (unreachable, 407, Negotiate, 403, closed)
	// are worded where the proxy is handled.
	if detail, hint, ok := netroute.Explain(err, u.Hostname()); ok {
		return failed(detail, hint)
	}
	via := ""
	if rt := ex.route; rt != nil && rt.Kind == netroute.Proxy {
		via = " through the proxy " + rt.Proxy
	}
	hint := proxyHint(ex.route)
	if d, ok := reachFailure(err, u, via, field, hint); ok {
		return d
	}
	if d, ok := ru.certificateFailure(err, host, field); ok {
		var unknownCA x509.UnknownAuthorityError
		if via != "" && errors.As(err, &unknownCA) {
			// Found inside the tunnel: the proxy most likely inspects
			// TLS with a company CA this computer does not trust.
			d.detail += via + ", which probably inspects TLS with its own certificate authority"
		}
		return d
	}
	if d, ok := ru.handshakeFailure(err, ex, host, field); ok {
		return d
	}
	return ru.networkFailure(err, host, via, hint)
}

// reachFailure explains a host that cannot be found or refuses to connect.
// routeHint is proxyHint of the step's route.
func reachFailure(err error, u *url.URL, via, field, routeHint string) (diagnosis, bool) {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		what := "cannot be found (DNS: no such host)"
		if !dnsErr.IsNotFound {
			what = "cannot be looked up (the DNS server did not answer)"
		}
		return failed(fmt.Sprintf("the host %s %s", u.Hostname(), what),
			fmt.Sprintf("Check %s in the key and the network connection. %s", field, routeHint)), true
	case isRefused(err):
		return failed(fmt.Sprintf("%s refused the connection%s", u.Host, via),
			fmt.Sprintf("Nothing accepts connections there: check the host and port in %s. A firewall may also block it. %s", field, routeHint)), true
	}
	return diagnosis{}, false
}

// certificateFailure explains a server certificate that was not accepted.
// The names in it come from the server, so they are cleaned.
func (ru *runner) certificateFailure(err error, host, field string) (diagnosis, bool) {
	var unknownCA x509.UnknownAuthorityError
	var wrongHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownCA):
		issuer := "an unknown issuer"
		if unknownCA.Cert != nil {
			issuer = fmt.Sprintf("%q", ru.clean(certName(unknownCA.Cert.Issuer.CommonName, unknownCA.Cert.Issuer.Organization)))
		}
		return failed(fmt.Sprintf("the certificate of %s is not trusted: it was issued by %s, which is not a known certificate authority", host, issuer), hintTrust), true
	case errors.As(err, &wrongHost):
		names := "other hosts"
		if c := wrongHost.Certificate; c != nil {
			ns := slices.Clone(c.DNSNames)
			for _, ip := range c.IPAddresses {
				ns = append(ns, ip.String())
			}
			if len(ns) > 0 {
				names = ru.clean(strings.Join(ns, ", "))
			}
		}
		return failed(fmt.Sprintf("the certificate of %s is for %s, not for this host", host, names),
			fmt.Sprintf("A proxy may be intercepting the connection, or %s names the wrong host. %s", field, hintTrust)), true
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return failed(fmt.Sprintf("the certificate of %s has expired or is not valid yet", host),
			"Check the computer's date and time. If they are right, a proxy may be serving an outdated certificate: "+hintTrust), true
	case errors.As(err, &verify):
		return failed(fmt.Sprintf("the certificate of %s cannot be verified", host), hintTrust), true
	}
	return diagnosis{}, false
}

// handshakeFailure explains a TLS handshake that the server did not take
// part in (plain HTTP, TLS older than 1.2) or ended with an alert: for the
// token host of an x509 key, an alert about a certificate is about the
// key's.
func (ru *runner) handshakeFailure(err error, ex exchangeFacts, host, field string) (diagnosis, bool) {
	var notTLS tls.RecordHeaderError
	switch {
	case errors.As(err, &notTLS) || errors.Is(err, http.ErrSchemeMismatch):
		return failed(fmt.Sprintf("%s does not answer in TLS on this port (it looks like plain HTTP)", host),
			fmt.Sprintf("Check the host and port in %s; the key's URLs all use https on the standard port.", field)), true
	case isOldTLS(err, ex):
		return failed(fmt.Sprintf("%s offers only TLS versions older than 1.2, which are refused as insecure", host),
			fmt.Sprintf("SAP's servers use TLS 1.2 or newer, so something else is answering: check %s and whether a proxy or old firewall is in the way.", field)), true
	}
	code, ok := remoteAlert(err)
	if !ok {
		return diagnosis{}, false
	}
	alert := alertName(code)
	if ru.key.CredentialType == vault.X509 && field == tokenField(ru.key) && isCertAlert(code) {
		return failed(fmt.Sprintf("the token server at %s refused the key's client certificate (TLS alert: %s)", host, alert),
			"The certificate may be revoked, or belong to a key that was deleted or regenerated in the SAP BTP cockpit. Delete the key here, then create a new x509 key in the cockpit and upload it."), true
	}
	return failed(fmt.Sprintf("the TLS handshake with %s failed (TLS alert: %s)", host, alert),
		fmt.Sprintf("Something other than SAP's server may be answering: check %s and the proxy settings.", field)), true
}

// networkFailure explains what is left: a connection that timed out, could
// not be made or was cut, or else the innermost error's own (cleaned) text.
func (ru *runner) networkFailure(err error, host, via, routeHint string) diagnosis {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		// Dialling times out as a net.OpError "dial"; net/http's handshake
		// timeout has an unexported type, and nothing else times out here
		// before the run's own deadline (ctxFailure).
		what := "connecting to " + host + via + " timed out"
		if findOp(err, "dial") == nil {
			what = "the TLS handshake with " + host + via + " timed out"
		}
		return failed(what, "A firewall may be dropping the traffic. "+routeHint)
	case isAny(err, errsUnreachable):
		return failed(fmt.Sprintf("the network cannot reach %s", host), "Check the network connection. "+routeHint)
	case isAny(err, errsReset) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return failed(fmt.Sprintf("%s closed the connection before answering%s", host, via),
			"A firewall or proxy may be cutting the connection. "+routeHint)
	}
	return failed(fmt.Sprintf("the request to %s failed%s: %s", host, via, ru.clean(innermost(err).Error())),
		"Check the network connection, then try again. "+routeHint)
}

// isRefused: nothing listens there (by the OS's error code, see neterr_*.go).
func isRefused(err error) bool { return isAny(err, errsRefused) }

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// alertProtocolVersion is the TLS alert a server sends when it speaks none
// of the versions offered (RFC 8446 6.2).
const alertProtocolVersion = 70

// isOldTLS: the server offers only versions older than TLS 1.2, which
// shows as the version it picked in its ServerHello, or as its alert
// refusing the versions we offered.
func isOldTLS(err error, ex exchangeFacts) bool {
	if v := ex.serverVersion; v != 0 && v < tls.VersionTLS12 {
		return true
	}
	code, ok := remoteAlert(err)
	return ok && code == alertProtocolVersion
}

// findOp finds a *net.OpError with op in err's chain.
func findOp(err error, op string) *net.OpError {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if o, ok := e.(*net.OpError); ok && o.Op == op {
			return o
		}
	}
	return nil
}

// remoteAlert is the code of the TLS alert the server sent (RFC 8446 6).
// crypto/tls reports it as net.OpError{Op: "remote error"} around its
// unexported alert type, a uint8 that is the code.
func remoteAlert(err error) (code uint8, ok bool) {
	o := findOp(err, "remote error")
	if o == nil || o.Err == nil {
		return 0, false
	}
	if v := reflect.ValueOf(o.Err); v.Kind() == reflect.Uint8 {
		return uint8(v.Uint()), true
	}
	return 0, false
}

// alertName is how crypto/tls names an alert: "bad certificate".
func alertName(code uint8) string {
	return strings.TrimPrefix(tls.AlertError(code).Error(), "tls: ")
}

// isCertAlert: the alert refuses the client certificate we sent.
func isCertAlert(code uint8) bool {
	switch code {
	case 42, 43, 44, 45, 46, // bad, unsupported, revoked, expired, unknown certificate
		48, 49, // unknown CA, access denied
		116: // certificate required
		return true
	}
	return false
}

// sentence is s with a capital and a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

func certName(cn string, org []string) string {
	if cn != "" {
		return cn
	}
	if len(org) > 0 {
		return org[0]
	}
	return "(unnamed)"
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// redirectTarget names where a redirect pointed, resolved against the
// request URL; the path is left out because it can carry anything, and the
// host is the server's text.
func (ru *runner) redirectTarget(from *url.URL, h http.Header) string {
	loc := h.Get("Location")
	if loc == "" {
		return "no named location"
	}
	to, err := from.Parse(loc)
	if err != nil || to.Host == "" {
		return "an unreadable location"
	}
	host := ru.clean(to.Host)
	if host == "" {
		return "an unreadable location"
	}
	return "host " + host
}

// replyKind says what came instead of a token, from the answer's header
// and body (not from oauth2's error text, which has no type to tell a
// reply without a token from one that cannot be read).
func (ru *runner) replyKind(h http.Header, body []byte) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	readable, hasToken := tokenReply(mt, body)
	switch {
	case mt == "text/html":
		return "an HTML page"
	case mt == "" && h.Get("Content-Type") == "":
		return "a reply without a content type"
	case readable && !hasToken:
		return "a reply that holds no access_token"
	case mt == "application/json":
		return "JSON that cannot be read"
	}
	return "a " + ru.clean(mt) + " reply"
}

// tokenReply reads a token endpoint's answer as oauth2 does (form values
// for application/x-www-form-urlencoded and text/plain, JSON otherwise):
// whether it can be read, and whether it holds an access token.
func tokenReply(mediaType string, body []byte) (readable, hasToken bool) {
	switch mediaType {
	case "application/x-www-form-urlencoded", "text/plain":
		v, err := url.ParseQuery(string(body))
		return err == nil, v.Get("access_token") != ""
	}
	var tj struct {
		AccessToken string `json:"access_token"`
	}
	err := json.Unmarshal(body, &tj)
	return err == nil, tj.AccessToken != ""
}

// serverSays gives "HTTP 401: unauthorized, Bad credentials", with the
// server's words cleaned: they are shown to the user, and a server could echo
// anything.
func (ru *runner) serverSays(status int, code, desc string) string {
	s := fmt.Sprintf("HTTP %d", status)
	var words []string
	for _, w := range []string{code, desc} {
		if w = ru.clean(w); w != "" {
			words = append(words, w)
		}
	}
	if len(words) > 0 {
		s += ": " + strings.Join(words, ", ")
	}
	return s
}
