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

func (p *parser) problem(path, format string, args ...any) {
	p.problems = append(p.problems, Finding{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) warn(path, format string, args ...any) {
	p.warnings = append(p.warnings, Finding{Path: path, Message: fmt.Sprintf(format, args...)})
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
			p.problem("", "unexpected text after the JSON object (line %d); the file must hold the service key only", line)
			return nil, nil, false
		}
	}
	if raw[0] != '{' {
		p.problem("", "the file holds JSON, but not a JSON object; a service key starts with {")
		return nil, nil, false
	}
	obj = p.data[start:end]
	if !p.uniqueMembers(obj) {
		return nil, nil, false
	}

	// cf v8 wraps the key: {"credentials": {...}}.
	if err := json.Unmarshal(obj, &top); err != nil {
		p.problem("", "the file is not valid JSON; download the key again from the SAP BTP cockpit")
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
		p.problem("", "the file is empty; choose the service key file downloaded from the SAP BTP cockpit")
		return -1, false
	}
	if p.data[start] == '{' || !bytes.HasPrefix(p.data[start:], []byte("Getting key")) {
		return start, true
	}
	// The JSON starts the first line that opens with '{'.
	for i := start; ; {
		nl := bytes.IndexByte(p.data[i:], '\n')
		if nl < 0 {
			p.problem("", "the cf service-key output holds no JSON object; copy the whole output of cf service-key")
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
		p.problem("", "the file is not valid JSON (error at line %d, column %d); download the key again from the SAP BTP cockpit", line, col)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		p.problem("", "the file ends in the middle of the JSON; it was probably cut off, so download or copy the whole key again")
	default:
		p.problem("", "the file is not valid JSON; download the key again from the SAP BTP cockpit")
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
		p.problem(path, "missing")
		return f, false
	}
	if len(raw) == 0 || raw[0] != '{' {
		p.problem(path, "must be a JSON object, not %s", jsonKind(raw))
		return f, false
	}
	if err := json.Unmarshal(raw, &f.m); err != nil {
		p.problem(path, "cannot be read")
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
		p.problem(f.join(name), "must be a string, not %s", jsonKind(raw))
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
		p.problem(path, "cannot be read")
		return "", false
	}
	return s, true
}

// required is str plus "missing" and "empty" problems.
func (p *parser) required(f fields, name string) string {
	s, ok := p.str(f, name)
	if !ok {
		if _, there := f.m[name]; !there {
			p.problem(f.join(name), "missing")
		}
		return ""
	}
	if strings.TrimSpace(s) == "" {
		p.problem(f.join(name), "must not be empty")
		return ""
	}
	return s
}

func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	default:
		return "a number"
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
		p.problem(f.join(name), "must not contain spaces or backslashes")
	case err != nil:
		p.problem(f.join(name), "is not a URL")
	case u.User != nil || strings.Contains(u.Host, "@"):
		p.problem(f.join(name), "must not contain a user name or password (an @ before the host)")
	case strings.ContainsAny(s, "?#"):
		p.problem(f.join(name), "must not contain a query (?) or a fragment (#): what follows them would be shown as part of the host, but not used as one")
	case !u.IsAbs() || u.Opaque != "" || u.Hostname() == "":
		p.problem(f.join(name), "must be an absolute URL with a host, like https://host/...")
	case u.Scheme != "https":
		p.problem(f.join(name), "must be an https URL, not %s", u.Scheme)
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
			p.problem(path, "holds the invisible or control character U+%04X, which would make what is shown differ from what is there; download the key again from the SAP BTP cockpit", r)
			return false
		}
	}
	return true
}

var allowedTypes = "binding-secret, instance-secret or x509"

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
			p.problem("endpoints.Api", "missing; without it this is a generic XSUAA key, not an SAP Cloud ALM API key")
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
		p.warn(uaa.join("clientid"), "does not look like an SAP Cloud ALM API client (no \"sapcloudalm\" in it); check that the key belongs to an SAP Cloud ALM API instance")
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
			p.problem(path, "missing, and uaa.url has no subdomain to name the tenant by; download the key again from the SAP BTP cockpit")
		}
		return
	}
	why := subdomainProblem(k.Tenant)
	switch {
	case why == "":
	case p.stored:
		p.warn(path, "%s is not a valid tenant (subdomain) name (%s): %s; upload a current key from the SAP BTP cockpit", quoteShort(Printable(k.Tenant)), why, subdomainRule)
	case !ok || zone == "":
		p.problem(path, "missing, and the subdomain of uaa.url is not a valid tenant name (%s): %s; download the key again from the SAP BTP cockpit", why, subdomainRule)
		k.Tenant = ""
	default:
		p.problem(path, "is not a valid tenant (subdomain) name: %s; %s. Download the key again from the SAP BTP cockpit", why, subdomainRule)
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
			p.problem(path, "%s is not one of %s", quoteShort(ct), allowedTypes)
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
		p.warn(path, "missing; treated as x509 because the key has a certificate")
	} else {
		// Keys from before credential-type existed were instance secrets.
		k.CredentialType = InstanceSecret
		p.warn(path, "missing; treated as a client-secret key (instance-secret)")
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
		p.problem(keyPath, "does not match the first certificate in uaa.certificate; the key and certificate must come from the same service key")
		priv = nil
	}
	switch e := CertExpiry(leaf.NotAfter, p.now); {
	case e.Expired && p.stored:
		p.warn(certPath, "the client certificate expired on %s; delete this key and upload a new one from the SAP BTP cockpit", e.Date())
	case e.Expired:
		p.problem(certPath, "the client certificate expired on %s; create a new service key in the SAP BTP cockpit", e.Date())
	case e.Soon:
		p.warn(certPath, "the client certificate expires on %s (%s); plan to replace the key", e.Date(), e.When())
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
			p.problem(path, "block %d is not a certificate; the field must hold the client certificate and its chain", n)
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			p.problem(path, "certificate %d cannot be read", n)
			continue
		}
		if leaf == nil {
			leaf = c
		}
		chain = append(chain, b.Bytes)
	}
	if n == 0 {
		p.problem(path, "holds no PEM certificate")
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
		p.problem(path, "holds no PEM private key")
	case b.Type == "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case b.Type == "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(b.Bytes)
	case b.Type == "PRIVATE KEY":
		var anyKey any
		if anyKey, err = x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
			s, ok := anyKey.(crypto.Signer)
			if !ok {
				p.problem(path, "holds a private key of a kind TLS cannot use")
			}
			priv = s
		}
	default:
		p.problem(path, "is not a PKCS#1, PKCS#8 or EC private key (found a %q block)", b.Type)
	}
	if err != nil {
		// err is not shown: it says nothing the user can act on, and
		// parser errors are not guaranteed to be free of key material.
		p.problem(path, "the %s cannot be read", strings.ToLower(b.Type))
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
