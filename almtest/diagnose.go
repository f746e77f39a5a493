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
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// diagnosis is what went wrong with a step, in the user's terms.
// Detail and hint are codes with values (vault.Msg, msgtext.go); the
// step's English is made from them.
type diagnosis struct {
	status      Status
	detail      vault.Msg
	hint        vault.Msg
	keyRejected bool
}

func failed(detail, hint vault.Msg) diagnosis {
	return diagnosis{status: StatusFail, detail: detail, hint: hint}
}

// m is vault.M, short for the many messages here.
var m = vault.M

// Hints that several diagnoses share.
var (
	hintSlow  = m("hint.slow")
	hintTrust = m("hint.trust")
)

// proxyHint names the way the step went out and where to see and change
// it. It holds on every OS: the route may come from HTTPS_PROXY, Windows'
// settings, a PAC script or --proxy, and calmkeyctl proxy shows which.
func proxyHint(rt *netroute.Route) vault.Msg {
	switch {
	case rt == nil:
		return m("hint.route.unknown")
	case rt.Kind == netroute.Proxy:
		return m("hint.route.proxy").With("Route", routeWords(*rt))
	}
	return m("hint.route.direct").With("Route", routeWords(*rt))
}

// fromWords is what netroute found as a message: its codes' English is
// here, in msgtext.go.
func fromWords(w netroute.Words) vault.Msg {
	msg := vault.Msg{Code: w.Code, Values: w.Values}
	for name, part := range w.Parts {
		msg = msg.With(name, fromWords(part))
	}
	return msg
}

// hostMsg is code about host; the other name, value pairs follow.
func hostMsg(code, host string, nameValues ...string) vault.Msg {
	return m(code, append([]string{"Host", host}, nameValues...)...)
}

// ctxFailure reports a run that ran out of time or was cancelled, whatever
// error that surfaced as.
func (ru *runner) ctxFailure(host string) (diagnosis, bool) {
	if ru.ctx.Err() == nil {
		return diagnosis{}, false
	}
	if errors.Is(ru.parent.Err(), context.Canceled) {
		return failed(hostMsg("test.cancelled", host), vault.Msg{}), true
	}
	return failed(hostMsg("test.timeLimit", host, "Limit", humanDuration(ru.limit)), hintSlow), true
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
	fieldHint := func(code string) vault.Msg { return m(code, "Field", field) }
	switch s := ex.status; {
	case s >= 300 && s < 400:
		return failed(hostMsg("test.token.redirect", host, "Status", strconv.Itoa(s)).With("Target", ru.redirectTarget(u, ex.header)),
			fieldHint("hint.token.redirect"))
	case s == http.StatusUnauthorized || code == "invalid_client" || strings.EqualFold(desc, "Bad credentials"):
		d := failed(hostMsg("test.token.rejected", host, "Says", says), m("hint.token.rejected"))
		d.keyRejected = true
		return d
	case s == http.StatusNotFound:
		return failed(hostMsg("test.token.notFound", host, "Path", u.Path, "Says", says), ru.tokenNotFoundHint())
	case s == http.StatusMethodNotAllowed:
		return failed(hostMsg("test.token.methodNotAllowed", host, "Path", u.Path, "Says", says), fieldHint("hint.token.notXSUAA"))
	case s == http.StatusTooManyRequests:
		return failed(hostMsg("test.token.limited", host, "Says", says), m("hint.waitMinute"))
	case s >= 500:
		return failed(hostMsg("test.token.serverError", host, "Says", says), m("hint.token.serverError"))
	case s >= 200 && s < 300:
		return failed(hostMsg("test.token.noToken", host, "Status", strconv.Itoa(s)).With("Reply", ru.replyKind(ex.header, ex.body)),
			fieldHint("hint.token.noToken"))
	default:
		return failed(hostMsg("test.token.refused", host, "Says", says), m("hint.token.refused"))
	}
}

// tokenNotFoundHint: where the token endpoint is, by the key's type.
func (ru *runner) tokenNotFoundHint() vault.Msg {
	if ru.key.CredentialType != vault.X509 {
		return m("hint.token.notFound")
	}
	same := vault.Msg{}
	if cu, uu := hostOf(ru.key.CertURL), hostOf(ru.key.UAAURL); cu != "" && strings.EqualFold(cu, uu) {
		same = m("hint.token.sameHost")
	}
	return m("hint.token.x509NotFound").With("SameHost", same)
}

// apiStatus judges the API's answer to a request that got one.
func (ru *runner) apiStatus(resp *http.Response, u *url.URL) diagnosis {
	host := u.Host
	s := resp.StatusCode
	status := strconv.Itoa(s)
	switch {
	case s >= 200 && s < 300:
		return diagnosis{status: StatusOK, detail: hostMsg("test.api.ok", host, "Status", status)}
	case s == http.StatusForbidden:
		return diagnosis{status: StatusWarn, detail: hostMsg("test.api.forbidden", host, "Scope", ReadScope), hint: m("hint.api.forbidden")}
	case s == http.StatusUnauthorized:
		return failed(hostMsg("test.api.unauthorized", host, "TokenHost", hostOf(ru.key.TokenURL())), m("hint.api.unauthorized"))
	case s >= 300 && s < 400:
		return failed(hostMsg("test.api.redirect", host, "Status", status).With("Target", ru.redirectTarget(u, resp.Header)), m("hint.api.redirect"))
	case s == http.StatusNotFound:
		return failed(hostMsg("test.api.notFound", host, "Path", u.Path+ProjectsPath), m("hint.api.notFound"))
	case s == http.StatusTooManyRequests:
		return failed(hostMsg("test.api.limited", host), m("hint.waitMinute"))
	case s >= 500:
		return failed(hostMsg("test.api.serverError", host, "Status", status), m("hint.api.serverError"))
	default:
		return failed(hostMsg("test.api.other", host, "Status", status), m("hint.api.other"))
	}
}

// transportFailure explains a request that got no HTTP answer.
func (ru *runner) transportFailure(err error, ex exchangeFacts, u *url.URL, field string) diagnosis {
	d := ru.connectionFailure(err, ex, u, field)
	if rt := ex.route; rt != nil && rt.Note != "" && d.status == StatusFail {
		// What went wrong on the way to the route (an unreadable
		// HTTPS_PROXY, a PAC script that failed) may be why. The note
		// never holds a proxy's password.
		if rt.NoteWords.Code != "" {
			d.hint = m("hint.withNoteMsg").With("Note", noteSentence(noteMsg(rt.NoteWords))).With("Hint", d.hint)
		} else {
			d.hint = m("hint.withNote", "Note", sentence(rt.Note)).With("Hint", d.hint)
		}
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
		return failed(fromWords(detail), fromWords(hint))
	}
	via := vault.Msg{}
	if rt := ex.route; rt != nil && rt.Kind == netroute.Proxy {
		via = m("phrase.via", "Proxy", rt.Proxy)
	}
	hint := proxyHint(ex.route)
	if d, ok := reachFailure(err, u, via, field, hint); ok {
		return d
	}
	if d, ok := ru.certificateFailure(err, host, field, via); ok {
		return d
	}
	if d, ok := ru.handshakeFailure(err, ex, host, field); ok {
		return d
	}
	return ru.networkFailure(err, host, via, hint)
}

// reachFailure explains a host that cannot be found or refuses to connect.
// routeHint is proxyHint of the step's route.
func reachFailure(err error, u *url.URL, via vault.Msg, field string, routeHint vault.Msg) (diagnosis, bool) {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		code := "test.dns.notFound"
		if !dnsErr.IsNotFound {
			code = "test.dns.noAnswer"
		}
		return failed(hostMsg(code, u.Hostname()), m("hint.dns", "Field", field).With("Route", routeHint)), true
	case isRefused(err):
		return failed(hostMsg("test.refused", u.Host).With("Via", via),
			m("hint.refused", "Field", field).With("Route", routeHint)), true
	}
	return diagnosis{}, false
}

// certificateFailure explains a server certificate that was not accepted.
// The names in it come from the server, so they are cleaned. via is the
// proxy the connection went through, if any.
func (ru *runner) certificateFailure(err error, host, field string, via vault.Msg) (diagnosis, bool) {
	var unknownCA x509.UnknownAuthorityError
	var wrongHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownCA):
		issuer := m("phrase.issuer.unknown")
		if unknownCA.Cert != nil {
			issuer = m("phrase.issuer.named", "Name", strconv.Quote(ru.clean(certName(unknownCA.Cert.Issuer.CommonName, unknownCA.Cert.Issuer.Organization))))
		}
		code := "test.cert.untrusted"
		if !via.IsZero() {
			// Found inside the tunnel: the proxy most likely inspects
			// TLS with a company CA this computer does not trust.
			code = "test.cert.untrustedProxy"
		}
		return failed(hostMsg(code, host).With("Issuer", issuer).With("Via", via), hintTrust), true
	case errors.As(err, &wrongHost):
		return failed(hostMsg("test.cert.wrongHost", host).With("Names", ru.certNames(wrongHost.Certificate)),
			m("hint.cert.wrongHost", "Field", field).With("Trust", hintTrust)), true
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return failed(hostMsg("test.cert.expired", host), m("hint.cert.expired").With("Trust", hintTrust)), true
	case errors.As(err, &verify):
		return failed(hostMsg("test.cert.unverified", host), hintTrust), true
	}
	return diagnosis{}, false
}

// certNames are the hosts a certificate is for, cleaned: they come from
// the server.
func (ru *runner) certNames(c *x509.Certificate) vault.Msg {
	if c != nil {
		ns := slices.Clone(c.DNSNames)
		for _, ip := range c.IPAddresses {
			ns = append(ns, ip.String())
		}
		if len(ns) > 0 {
			return m("phrase.names.list", "Names", ru.clean(strings.Join(ns, ", ")))
		}
	}
	return m("phrase.names.otherHost")
}

// handshakeFailure explains a TLS handshake that the server did not take
// part in (plain HTTP, TLS older than 1.2) or ended with an alert: for the
// token host of an x509 key, an alert about a certificate is about the
// key's.
func (ru *runner) handshakeFailure(err error, ex exchangeFacts, host, field string) (diagnosis, bool) {
	var notTLS tls.RecordHeaderError
	switch {
	case errors.As(err, &notTLS) || errors.Is(err, http.ErrSchemeMismatch):
		return failed(hostMsg("test.tls.plainHTTP", host), m("hint.tls.plainHTTP", "Field", field)), true
	case isOldTLS(err, ex):
		return failed(hostMsg("test.tls.old", host), m("hint.tls.old", "Field", field)), true
	}
	code, ok := remoteAlert(err)
	if !ok {
		return diagnosis{}, false
	}
	alert := alertName(code)
	if ru.key.CredentialType == vault.X509 && field == tokenField(ru.key) && isCertAlert(code) {
		return failed(hostMsg("test.tls.certRefused", host, "Alert", alert), m("hint.tls.certRefused")), true
	}
	return failed(hostMsg("test.tls.alert", host, "Alert", alert), m("hint.tls.alert", "Field", field)), true
}

// networkFailure explains what is left: a connection that timed out, could
// not be made or was cut, or else the innermost error's own (cleaned) text.
func (ru *runner) networkFailure(err error, host string, via, routeHint vault.Msg) diagnosis {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		// Dialling times out as a net.OpError "dial"; net/http's handshake
		// timeout has an unexported type, and nothing else times out here
		// before the run's own deadline (ctxFailure).
		code := "test.net.connectTimeout"
		if findOp(err, "dial") == nil {
			code = "test.net.tlsTimeout"
		}
		return failed(hostMsg(code, host).With("Via", via), m("hint.net.timeout").With("Route", routeHint))
	case isAny(err, errsUnreachable):
		return failed(hostMsg("test.net.unreachable", host), m("hint.net.unreachable").With("Route", routeHint))
	case isAny(err, errsReset) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return failed(hostMsg("test.net.closed", host).With("Via", via), m("hint.net.closed").With("Route", routeHint))
	}
	// The error's own text is the system's, in its language.
	return failed(hostMsg("test.net.failed", host, "Error", ru.clean(innermost(err).Error())).With("Via", via),
		m("hint.net.failed").With("Route", routeHint))
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
func (ru *runner) redirectTarget(from *url.URL, h http.Header) vault.Msg {
	loc := h.Get("Location")
	if loc == "" {
		return m("phrase.target.none")
	}
	to, err := from.Parse(loc)
	if err != nil || to.Host == "" {
		return m("phrase.target.bad")
	}
	host := ru.clean(to.Host)
	if host == "" {
		return m("phrase.target.bad")
	}
	return m("phrase.target.host", "Host", host)
}

// replyKind says what came instead of a token, from the answer's header
// and body (not from oauth2's error text, which has no type to tell a
// reply without a token from one that cannot be read).
func (ru *runner) replyKind(h http.Header, body []byte) vault.Msg {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	readable, hasToken := tokenReply(mt, body)
	switch {
	case mt == "text/html":
		return m("phrase.reply.html")
	case mt == "" && h.Get("Content-Type") == "":
		return m("phrase.reply.untyped")
	case readable && !hasToken:
		return m("phrase.reply.noToken")
	case mt == "application/json":
		return m("phrase.reply.badJSON")
	}
	return m("phrase.reply.other", "Type", ru.clean(mt))
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
