package vault

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// secrets is what a Key must never print.
type secrets struct {
	raw          []byte // what Bytes returns
	obj          []byte // the key object's own text
	clientSecret string
	cert         *tls.Certificate // x509 keys only
}

// Parse runs the format check on the bytes of an uploaded file and returns
// the key, or an error: ErrTooLarge, or a *FormatError listing every problem.
func Parse(data []byte) (*Key, error) { return parse(data, time.Now(), false) }

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parser collects findings; a rule that fails records a problem and lets the
// others run, so the user sees everything at once.
type parser struct {
	data     []byte
	now      time.Time
	stored   bool // loading from the keychain: an expired certificate only warns
	problems []Finding
	warnings []Finding
	sec      *secrets          // filled as the rules run
	hosts    map[string]string // accepted URLs' hosts in lower case, by path
}

func (p *parser) problem(path string, m Msg) {
	p.problems = append(p.problems, finding(path, m))
}

func (p *parser) warn(path string, m Msg) {
	p.warnings = append(p.warnings, finding(path, m))
}

// finding is m about path, with its English as the message.
func finding(path string, m Msg) Finding {
	return Finding{Path: path, Message: m.English(), Msg: m}
}

func (p *parser) fail() error {
	return &FormatError{Problems: p.problems, Warnings: p.warnings}
}

func parse(data []byte, now time.Time, stored bool) (*Key, error) {
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	p := &parser{data: data, now: now, stored: stored}
	obj, top, plain := p.locate()
	if obj == nil {
		return nil, p.fail()
	}
	k := p.check(obj, top)
	if len(p.problems) > 0 {
		return nil, p.fail()
	}
	// Copies: the caller may reuse its buffer, and the key must not change
	// under it.
	sec := p.sec
	sec.obj = bytes.Clone(obj)
	if plain {
		sec.raw = bytes.Clone(data)
	} else {
		sec.raw = sec.obj
	}
	k.sec = func() *secrets { return sec }
	k.Warnings = p.warnings
	return k, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// locate finds the key object's text in the file. plain reports that the file
// is the key object itself, give or take a BOM and whitespace, so that Bytes
// can return the file unchanged.
// top is the decoded key object when locate had to decode it anyway.
func (p *parser) locate() (obj []byte, top map[string]json.RawMessage, plain bool) {
	start, plain := p.start()
	if start < 0 {
		return nil, nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(p.data[start:]))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		p.syntaxProblem(start, err)
		return nil, nil, false
	}
	end := start + int(dec.InputOffset())
	for i := end; i < len(p.data); i++ {
		if !isSpace(p.data[i]) {
			line, _ := p.position(i)
			p.problem("", M("format.trailingText", "Line", strconv.Itoa(line)))
			return nil, nil, false
		}
	}
	if raw[0] != '{' {
		p.problem("", M("format.notObject"))
		return nil, nil, false
	}
	obj = p.data[start:end]
	if !p.uniqueMembers(obj) {
		return nil, nil, false
	}

	// cf v8 wraps the key: {"credentials": {...}}.
	if err := json.Unmarshal(obj, &top); err != nil {
		p.problem("", M("format.invalidJSON"))
		return nil, nil, false
	}
	if c, ok := top["credentials"]; ok && len(top) == 1 && len(c) > 0 && c[0] == '{' {
		return c, nil, false
	}
	return obj, top, plain
}

// start finds where the JSON starts: after a BOM and whitespace, or after
// the "Getting key ... as ..." lines that cf service-key prints before it
// (plain is false then). -1 when there is no JSON (a problem says so).
func (p *parser) start() (start int, plain bool) {
	if bytes.HasPrefix(p.data, utf8BOM) {
		start = len(utf8BOM)
	}
	for start < len(p.data) && isSpace(p.data[start]) {
		start++
	}
	if start == len(p.data) {
		p.problem("", M("format.empty"))
		return -1, false
	}
	if p.data[start] == '{' || !bytes.HasPrefix(p.data[start:], []byte("Getting key")) {
		return start, true
	}
	// The JSON starts the first line that opens with '{'.
	for i := start; ; {
		nl := bytes.IndexByte(p.data[i:], '\n')
		if nl < 0 {
			p.problem("", M("format.cfNoJSON"))
			return -1, false
		}
		i += nl + 1
		j := i
		for j < len(p.data) && (p.data[j] == ' ' || p.data[j] == '\t') {
			j++
		}
		if j < len(p.data) && p.data[j] == '{' {
			return j, false
		}
	}
}

// syntaxProblem reports where the JSON breaks without quoting the text
// there: it may be part of a secret.
func (p *parser) syntaxProblem(base int, err error) {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := p.position(base + int(se.Offset) - 1)
		p.problem("", M("format.syntax", "Line", strconv.Itoa(line), "Column", strconv.Itoa(col)))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		p.problem("", M("format.truncated"))
	default:
		p.problem("", M("format.invalidJSON"))
	}
}

// position gives the 1-based line and column of byte offset i.
func (p *parser) position(i int) (line, col int) {
	if i < 0 {
		i = 0
	}
	if i > len(p.data) {
		i = len(p.data)
	}
	before := p.data[:i]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = i - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// fields is one JSON object's members, by exact name: encoding/json's struct
// matching ignores case, and "ClientId" is not "clientid".
type fields struct {
	path string
	m    map[string]json.RawMessage
}

func (p *parser) object(path string, raw json.RawMessage) (fields, bool) {
	f := fields{path: path}
	if raw == nil {
		p.problem(path, M("format.field.missing"))
		return f, false
	}
	if len(raw) == 0 || raw[0] != '{' {
		p.problem(path, M("format.field.notObject").With("Kind", jsonKind(raw)))
		return f, false
	}
	if err := json.Unmarshal(raw, &f.m); err != nil {
		p.problem(path, M("format.field.unreadable"))
		return f, false
	}
	return f, true
}

func (f fields) join(name string) string {
	if f.path == "" {
		return name
	}
	return f.path + "." + name
}

// str returns a string member. present is false when the member is missing
// (nothing reported) or has another type (reported).
func (p *parser) str(f fields, name string) (s string, present bool) {
	raw, ok := f.m[name]
	if !ok {
		return "", false
	}
	if len(raw) == 0 || raw[0] != '"' {
		p.problem(f.join(name), M("format.field.notString").With("Kind", jsonKind(raw)))
		return "", false
	}
	return p.unquote(f.join(name), raw)
}

// unquote decodes a JSON string literal from an already validated document;
// most key fields have no escapes, and slicing them is much cheaper than
// a decode.
func (p *parser) unquote(path string, raw json.RawMessage) (string, bool) {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.problem(path, M("format.field.unreadable"))
		return "", false
	}
	return s, true
}

// required is str plus "missing" and "empty" problems.
func (p *parser) required(f fields, name string) string {
	s, ok := p.str(f, name)
	if !ok {
		if _, there := f.m[name]; !there {
			p.problem(f.join(name), M("format.field.missing"))
		}
		return ""
	}
	if strings.TrimSpace(s) == "" {
		p.problem(f.join(name), M("format.field.blank"))
		return ""
	}
	return s
}

// jsonKind names the kind of a JSON value: "a list".
func jsonKind(raw json.RawMessage) Msg {
	if len(raw) == 0 {
		return M("format.kind.nothing")
	}
	switch raw[0] {
	case '{':
		return M("format.kind.object")
	case '[':
		return M("format.kind.list")
	case '"':
		return M("format.kind.string")
	case 't', 'f':
		return M("format.kind.bool")
	case 'n':
		return M("format.kind.null")
	default:
		return M("format.kind.number")
	}
}

// httpsURL checks a URL the key's logon uses and the app shows. The reason
// is phrased without the URL's text, which might carry a password in its
// user info. A URL must read as what it does: no user info, query or
// fragment (https://127.0.0.1#@acme.authentication... shows an SAP host
// and goes to 127.0.0.1), no invisible characters, spaces or backslashes
// (which some programs read as '/').
func (p *parser) httpsURL(f fields, name string) string {
	s := p.required(f, name)
	if s == "" || !p.visible(f.join(name), s) {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case strings.ContainsAny(s, " \\"):
		p.problem(f.join(name), M("format.url.spaces"))
	case err != nil:
		p.problem(f.join(name), M("format.url.invalid"))
	case u.User != nil || strings.Contains(u.Host, "@"):
		p.problem(f.join(name), M("format.url.userInfo"))
	case strings.ContainsAny(s, "?#"):
		p.problem(f.join(name), M("format.url.query"))
	case !u.IsAbs() || u.Opaque != "" || u.Hostname() == "":
		p.problem(f.join(name), M("format.url.notAbsolute"))
	case u.Scheme != "https":
		p.problem(f.join(name), M("format.url.notHTTPS", "Scheme", u.Scheme))
	default:
		p.hostWarnings(f.join(name), u)
		return s
	}
	return ""
}

// visible reports whether s, the value of a field that is shown, holds only
// characters shown as themselves; if not, it records a problem naming the
// first other one by its code point.
func (p *parser) visible(path, s string) bool {
	for _, r := range s {
		if Invisible(r) {
			p.problem(path, M("format.field.invisible", "Char", fmt.Sprintf("U+%04X", r)))
			return false
		}
	}
	return true
}

// check runs every rule on the key object and fills a Key.
func (p *parser) check(obj []byte, top map[string]json.RawMessage) *Key {
	k := &Key{}
	p.sec = &secrets{}
	root := fields{m: top}
	if top == nil {
		var ok bool
		if root, ok = p.object("", obj); !ok {
			return k
		}
	}

	if ep, ok := p.object("endpoints", root.m["endpoints"]); ok {
		if _, there := ep.m["Api"]; !there {
			p.problem("endpoints.Api", M("format.api.missing"))
		} else {
			k.APIEndpoint = p.httpsURL(ep, "Api")
		}
	}

	uaa, ok := p.object("uaa", root.m["uaa"])
	if !ok {
		return k
	}
	if id := p.required(uaa, "clientid"); id != "" && p.visible(uaa.join("clientid"), id) {
		k.ClientID = id
	}
	k.UAAURL = p.httpsURL(uaa, "url")

	p.credentialType(uaa, k)
	switch {
	case k.CredentialType.IsSecret():
		p.sec.clientSecret = p.required(uaa, "clientsecret")
	case k.CredentialType == X509:
		k.CertURL = p.httpsURL(uaa, "certurl")
		p.x509(uaa, k)
	}
	p.hostsAgree(uaa, k)

	if k.ClientID != "" && !strings.Contains(k.ClientID, "sapcloudalm") {
		p.warn(uaa.join("clientid"), M("format.clientid.notALM"))
	}
	p.tenant(uaa, k)
	k.Region = region(k.APIEndpoint, k.UAAURL)
	return k
}

// tenant names the key's tenant: uaa.identityzone, or the subdomain of
// uaa.url when the key has none. calmkey keeps one key per tenant, so it
// must know the tenant, and a name must be an XSUAA subdomain: a look-alike
// (a Cyrillic а, a leading space, a fullwidth letter) would sit beside the
// real tenant in every list. A stored key under such a name, from an
// earlier calmkey, only warns, so that it can be loaded and deleted.
func (p *parser) tenant(uaa fields, k *Key) {
	path := uaa.join("identityzone")
	zone, ok := p.str(uaa, "identityzone")
	if ok && zone != "" {
		if !p.visible(path, zone) {
			return
		}
		k.Tenant = zone
	} else if _, there := uaa.m["identityzone"]; there && !ok {
		return // not a string: reported
	} else if k.Tenant = strings.ToLower(subdomain(k.UAAURL)); k.Tenant == "" {
		if k.UAAURL != "" {
			p.problem(path, M("format.tenant.noSubdomain"))
		}
		return
	}
	why := subdomainProblem(k.Tenant)
	rule := M("format.tenant.rule")
	switch {
	case why.IsZero():
	case p.stored:
		p.warn(path, M("format.tenant.storedName", "Name", quoteShort(Printable(k.Tenant))).With("Why", why).With("Rule", rule))
	case !ok || zone == "":
		p.problem(path, M("format.tenant.badSubdomain").With("Why", why).With("Rule", rule))
		k.Tenant = ""
	default:
		p.problem(path, M("format.tenant.badName").With("Why", why).With("Rule", rule))
		k.Tenant = ""
	}
}

// credentialType reads uaa.credential-type, or infers it from the fields
// of a key that does not declare it (saying so in a warning).
func (p *parser) credentialType(uaa fields, k *Key) {
	path := uaa.join("credential-type")
	if ct, ok := p.str(uaa, "credential-type"); ok {
		p.visible(path, ct)
		k.Declared = true
		switch t := CredentialType(ct); t {
		case BindingSecret, InstanceSecret, X509:
			k.CredentialType = t
		default:
			p.problem(path, M("format.credType.unknown", "Value", quoteShort(ct)))
		}
		return
	} else if _, there := uaa.m["credential-type"]; there {
		return // not a string: reported
	}
	_, hasSecret := uaa.m["clientsecret"]
	_, hasCert := uaa.m["certificate"]
	_, hasKey := uaa.m["key"]
	if (hasCert || hasKey) && !hasSecret {
		k.CredentialType = X509
		p.warn(path, M("format.credType.x509"))
	} else {
		// Keys from before credential-type existed were instance secrets.
		k.CredentialType = InstanceSecret
		p.warn(path, M("format.credType.secret"))
	}
}

func quoteShort(s string) string {
	const most = 40
	r := []rune(s)
	if len(r) > most {
		return fmt.Sprintf("%q...", string(r[:most]))
	}
	return fmt.Sprintf("%q", s)
}

// x509 checks uaa.certificate and uaa.key and keeps the pair for mutual TLS.
func (p *parser) x509(uaa fields, k *Key) {
	certPath, keyPath := uaa.join("certificate"), uaa.join("key")
	chain, leaf := p.certChain(certPath, p.required(uaa, "certificate"))
	priv := p.privateKey(keyPath, p.required(uaa, "key"))
	if leaf == nil {
		return
	}
	k.CertExpiry = leaf.NotAfter
	if priv != nil && !publicKeyMatches(leaf.PublicKey, priv.Public()) {
		p.problem(keyPath, M("format.key.mismatch"))
		priv = nil
	}
	switch e := CertExpiry(leaf.NotAfter, p.now); {
	case e.Expired && p.stored:
		p.warn(certPath, M("format.cert.expiredStored", "Date", e.Date()))
	case e.Expired:
		p.problem(certPath, M("format.cert.expired", "Date", e.Date()))
	case e.Soon:
		p.warn(certPath, M("format.cert.soon", "Date", e.Date()).With("When", e.WhenMsg()))
	}
	if priv != nil {
		p.sec.cert = &tls.Certificate{Certificate: chain, PrivateKey: priv, Leaf: leaf}
	}
}

// certChain reads the PEM certificates of uaa.certificate: the chain in
// DER, and the first certificate, the client's.
func (p *parser) certChain(path, chainPEM string) (chain [][]byte, leaf *x509.Certificate) {
	if chainPEM == "" {
		return nil, nil
	}
	rest := []byte(chainPEM)
	n := 0
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		n++
		if b.Type != "CERTIFICATE" {
			p.problem(path, M("format.cert.notCert", "N", strconv.Itoa(n)))
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			p.problem(path, M("format.cert.unreadable", "N", strconv.Itoa(n)))
			continue
		}
		if leaf == nil {
			leaf = c
		}
		chain = append(chain, b.Bytes)
	}
	if n == 0 {
		p.problem(path, M("format.cert.noPEM"))
	}
	return chain, leaf
}

// privateKey reads the PEM private key of uaa.key: PKCS#1, PKCS#8 or EC.
func (p *parser) privateKey(path, keyPEM string) crypto.Signer {
	if keyPEM == "" {
		return nil
	}
	b, _ := pem.Decode([]byte(keyPEM))
	var priv crypto.Signer
	var err error
	switch {
	case b == nil:
		p.problem(path, M("format.key.noPEM"))
	case b.Type == "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case b.Type == "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(b.Bytes)
	case b.Type == "PRIVATE KEY":
		var anyKey any
		if anyKey, err = x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
			s, ok := anyKey.(crypto.Signer)
			if !ok {
				p.problem(path, M("format.key.unusable"))
			}
			priv = s
		}
	default:
		p.problem(path, M("format.key.wrongBlock", "Block", strconv.Quote(b.Type)))
	}
	if err != nil {
		// err is not shown: it says nothing the user can act on, and
		// parser errors are not guaranteed to be free of key material.
		p.problem(path, M("format.key.unreadable", "Kind", strings.ToLower(b.Type)))
		return nil
	}
	return priv
}

func publicKeyMatches(certKey, privKey crypto.PublicKey) bool {
	switch pub := certKey.(type) {
	case *rsa.PublicKey:
		return pub.Equal(privKey)
	case *ecdsa.PublicKey:
		return pub.Equal(privKey)
	case interface{ Equal(crypto.PublicKey) bool }:
		return pub.Equal(privKey)
	}
	return false
}

// subdomain is the first label of a URL's host: the tenant's subdomain in
// an XSUAA URL.
func subdomain(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	h := u.Hostname()
	if i := strings.IndexByte(h, '.'); i > 0 {
		return h[:i]
	}
	return ""
}

// region reads the region from the hosts: <region>.alm.cloud.sap or
// <tenant>.<region>.alm.cloud.sap, else *.authentication[.cert].<region>.*.
func region(api, uaaURL string) string {
	if u, err := url.Parse(api); err == nil {
		labels := strings.Split(strings.ToLower(u.Hostname()), ".")
		for i := 1; i+2 < len(labels); i++ {
			if labels[i] == "alm" && labels[i+1] == "cloud" && labels[i+2] == "sap" {
				return labels[i-1]
			}
		}
	}
	return tokenRegion(hostOf(uaaURL))
}

// Error lists every problem, one per line, and what to do.
func (e *FormatError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("this is not a valid SAP Cloud ALM service key:")
	} else {
		fmt.Fprintf(&b, "this is not a valid SAP Cloud ALM service key (%d problems):", len(e.Problems))
	}
	for _, f := range e.Problems {
		b.WriteString("\n- ")
		b.WriteString(f.String())
	}
	return b.String()
}
