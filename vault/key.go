package vault

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// secrets returns the key's secret material, nil for a zero or nil Key.
func (k *Key) secrets() *secrets {
	if k == nil || k.sec == nil {
		return nil
	}
	return k.sec()
}

// TokenURL is where a token is requested: certurl for x509 keys, url for the
// secret kinds, each + "/oauth/token".
func (k *Key) TokenURL() string {
	base := k.UAAURL
	if k.CredentialType == X509 {
		base = k.CertURL
	}
	return strings.TrimRight(base, "/") + "/oauth/token"
}

// Bytes returns exactly what the user uploaded: the file's bytes when the
// file was a plain key (BOM and CRLF included), the key object's own text
// when it came wrapped (cf preamble or cf v8's "credentials"). It holds
// secrets; the caller gets its own copy.
func (k *Key) Bytes() []byte {
	if s := k.secrets(); s != nil {
		return bytes.Clone(s.raw)
	}
	return nil
}

// ClientSecret returns uaa.clientsecret ("" for x509 keys).
func (k *Key) ClientSecret() string {
	if s := k.secrets(); s != nil {
		return s.clientSecret
	}
	return ""
}

// ErrNotX509 is returned by TLSCertificate for the secret kinds.
var ErrNotX509 = errors.New("this service key authenticates with a client secret, not a certificate")

// TLSCertificate returns the x509 key's client certificate and private key
// for mutual TLS; an error for secret kinds.
func (k *Key) TLSCertificate() (tls.Certificate, error) {
	s := k.secrets()
	if s == nil || s.cert == nil {
		return tls.Certificate{}, ErrNotX509
	}
	c := *s.cert
	c.Certificate = append([][]byte(nil), c.Certificate...)
	return c, nil
}

// Mask hides a secret for display the house way, "abc***": short secrets
// show nothing of themselves.
func Mask(secret string) string {
	const shown, least = 3, 12
	if len(secret) < least {
		return "***"
	}
	return secret[:shown] + "***"
}

// JSON returns the key object pretty-printed (two-space indent), with the
// values of uaa.clientsecret and uaa.key replaced by a mask unless reveal is
// true, whatever their type (a string keeps its first characters when long
// enough, see Mask; a number, object or list becomes "***").
// Members keep the order they have in the file.
func (k *Key) JSON(reveal bool) []byte {
	s := k.secrets()
	if s == nil {
		return nil
	}
	var out bytes.Buffer
	src := s.obj
	if !reveal {
		masked, err := maskJSON(src)
		if err != nil {
			// Parse accepted this text, so this cannot happen; if it does,
			// showing nothing is the safe answer.
			return []byte("{}")
		}
		src = masked
	}
	if err := json.Indent(&out, src, "", "  "); err != nil {
		return []byte("{}")
	}
	return escapeInvisible(out.Bytes())
}

// escapeInvisible writes every invisible character (see Invisible) of a
// JSON text as a \u escape, which means the same to a JSON reader and
// cannot act on a terminal or reorder text on screen. JSON allows such
// characters only inside strings, where escapes are allowed too; line ends
// and tabs between tokens stay.
func escapeInvisible(js []byte) []byte {
	clean := true
	for _, r := range string(js) {
		if Invisible(r) && r != '\n' && r != '\t' && r != '\r' {
			clean = false
			break
		}
	}
	if clean {
		return js
	}
	var b bytes.Buffer
	for _, r := range string(js) {
		switch {
		case !Invisible(r) || r == '\n' || r == '\t' || r == '\r':
			b.WriteRune(r)
		default:
			writeJSONEscape(&b, r)
		}
	}
	return b.Bytes()
}

// writeJSONEscape writes r as a JSON \u escape (a surrogate pair beyond
// U+FFFF).
func writeJSONEscape(w io.Writer, r rune) {
	if r > 0xFFFF {
		r1, r2 := utf16.EncodeRune(r)
		fmt.Fprintf(w, `\u%04x\u%04x`, r1, r2)
		return
	}
	fmt.Fprintf(w, `\u%04x`, r)
}

// maskJSON re-encodes obj compactly with the secret members masked. It walks
// tokens rather than decoding into a map so that member order, unknown
// members and number spellings survive.
func maskJSON(obj []byte) ([]byte, error) {
	m := &masker{dec: json.NewDecoder(bytes.NewReader(obj))}
	m.dec.UseNumber()
	for {
		tok, err := m.dec.Token()
		if err == io.EOF {
			return m.out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		if err := m.token(tok); err != nil {
			return nil, err
		}
	}
}

// masker is maskJSON's state: the output so far and the open objects and
// lists.
type masker struct {
	dec   *json.Decoder
	out   bytes.Buffer
	stack []*maskFrame
}

type maskFrame struct {
	object  bool
	n       int    // members or elements written
	key     string // the member being written
	wantKey bool   // an object's next string is a member name
}

func (m *masker) token(tok json.Token) error {
	switch t := tok.(type) {
	case json.Delim:
		return m.delim(t)
	case string:
		if top := m.top(); top != nil && top.object && top.wantKey {
			if top.n > 0 {
				m.out.WriteByte(',')
			}
			top.n++
			top.key, top.wantKey = t, false
			m.str(t)
			m.out.WriteByte(':')
			return nil
		}
		m.scalar(Mask(t), func() { m.str(t) })
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		m.scalar("***", func() { m.out.Write(b) })
	}
	return nil
}

// scalar writes a value that is not an object or list: masked (as a
// string) when it is a secret, else as plain writes it.
func (m *masker) scalar(masked string, plain func()) {
	m.beforeValue()
	if m.secretHere() {
		m.str(masked)
	} else {
		plain()
	}
	m.afterValue()
}

func (m *masker) delim(t json.Delim) error {
	if t == '}' || t == ']' {
		m.out.WriteByte(byte(t))
		m.stack = m.stack[:len(m.stack)-1]
		m.afterValue()
		return nil
	}
	m.beforeValue()
	if m.secretHere() {
		// A secret field holding an object or a list (not the form SAP
		// writes, but a key may): all of it is secret, so it goes whole
		// behind one mask.
		if err := skipValue(m.dec); err != nil {
			return err
		}
		m.str("***")
		m.afterValue()
		return nil
	}
	m.out.WriteByte(byte(t))
	m.stack = append(m.stack, &maskFrame{object: t == '{', wantKey: t == '{'})
	return nil
}

func (m *masker) top() *maskFrame {
	if len(m.stack) == 0 {
		return nil
	}
	return m.stack[len(m.stack)-1]
}

func (m *masker) str(s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	m.out.Write(bytes.TrimRight(b.Bytes(), "\n"))
}

// beforeValue writes the comma a value in a list needs.
func (m *masker) beforeValue() {
	if top := m.top(); top != nil && !top.object {
		if top.n > 0 {
			m.out.WriteByte(',')
		}
		top.n++
	}
}

func (m *masker) afterValue() {
	if top := m.top(); top != nil && top.object {
		top.wantKey = true
	}
}

func (m *masker) secretHere() bool {
	return len(m.stack) == 2 && m.stack[0].key == "uaa" && m.stack[1].object &&
		(m.stack[1].key == "clientsecret" || m.stack[1].key == "key")
}

// skipValue reads the rest of an object or list whose opening delimiter
// dec has just returned.
func skipValue(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// String describes the key without its secrets.
func (k Key) String() string {
	var b strings.Builder
	b.WriteString("SAP Cloud ALM service key")
	if k.Tenant != "" {
		fmt.Fprintf(&b, " for tenant %s", k.Tenant)
	}
	if k.Region != "" {
		fmt.Fprintf(&b, " in %s", k.Region)
	}
	fmt.Fprintf(&b, " (%s, client %s)", k.typeText(), k.ClientID)
	return b.String()
}

func (k Key) typeText() string {
	if k.CredentialType == "" {
		return "unknown type"
	}
	return string(k.CredentialType)
}

// GoString is what %#v prints: the safe fields only.
func (k Key) GoString() string {
	return fmt.Sprintf("vault.Key{Tenant:%q, Region:%q, ClientID:%q, CredentialType:%q, Declared:%t, APIEndpoint:%q, UAAURL:%q, CertURL:%q, CertExpiry:%q, Warnings:%d}",
		k.Tenant, k.Region, k.ClientID, string(k.CredentialType), k.Declared, k.APIEndpoint, k.UAAURL, k.CertURL, k.expiryText(), len(k.Warnings))
}

func (k Key) expiryText() string {
	if k.CertExpiry.IsZero() {
		return ""
	}
	return k.CertExpiry.UTC().Format("2006-01-02T15:04:05Z")
}

// Format makes every fmt verb print the safe description: without it, %v
// and %+v would walk the struct by reflection.
func (k Key) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, k.GoString())
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "{Tenant:%s Region:%s ClientID:%s CredentialType:%s Declared:%t APIEndpoint:%s UAAURL:%s CertURL:%s CertExpiry:%s Warnings:%d}",
			k.Tenant, k.Region, k.ClientID, k.CredentialType, k.Declared, k.APIEndpoint, k.UAAURL, k.CertURL, k.expiryText(), len(k.Warnings))
	case verb == 'v' || verb == 's':
		io.WriteString(f, k.String())
	case verb == 'q':
		fmt.Fprintf(f, "%q", k.String())
	default:
		fmt.Fprintf(f, "%%!%c(vault.Key)", verb)
	}
}

// MarshalJSON gives the safe fields (see keyFacts), so that logging a Key
// as JSON cannot leak either.
func (k Key) MarshalJSON() ([]byte, error) {
	f := factsOf(&k)
	f.Tenant, f.Warnings = k.Tenant, k.Warnings
	return json.Marshal(f)
}
