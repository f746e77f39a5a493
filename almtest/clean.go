package almtest

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/calmkey/calmkey/vault"
)

// Text from outside calmkey reaches a report in many places: the token
// server's error and error_description, the scope value, a redirect's
// target, the names in a server's certificate, the proxy's name, the text
// of a network error. A server can put anything there, echo what it was
// sent included. Every such string goes through cleaner.clean, the one
// place that makes outside text fit to show, before it is put in a Step or
// the Report; the report's renderings (String, JSON, fmt) then hold
// only cleaned text and calmkey's own.

const (
	// cleanMax is the most runes one outside string keeps.
	cleanMax = 120
	// cleanWork bounds how much of an outside string is looked at: enough
	// to fill cleanMax after escape sequences and secrets are taken out,
	// without scanning the megabyte a server may send.
	cleanWork = 4096
	// fragment is the shortest run of a secret's text that is scrubbed
	// wherever it shows: any 8 characters of the secret, of the token or of
	// one of their encodings, in any letter case, so prefixes, pieces and
	// truncations too. Shorter runs would take ordinary words and numbers
	// with them (base64 and hex forms hold every short run of letters and
	// digits), and 7 characters of a 40-character random secret leave it
	// as hard to guess as ever. A secret shorter than this is matched
	// whole.
	fragment = 8
	// scrubbed stands for what was taken out.
	scrubbed = "***"
	// maxScopes is the most scopes a report lists.
	maxScopes = 64
	// maxScopeLen is the longest scope a report lists.
	maxScopeLen = 128
)

// cleaner cleans outside text for one run. It knows the secrets to scrub:
// the key's client secret, its private key, and the access token once one
// is issued. It is used from the run's goroutine only.
type cleaner struct {
	key    *vault.Key
	tokens []string
	// hay holds every form of every secret, ASCII lower case, each
	// followed by a NUL, which no cleaned text holds; short holds the
	// forms shorter than fragment, matched whole. Built on first use.
	hay   string
	short []string
	built bool
	// grams has a bit set for each fragment-long window of hay, by hash:
	// a window of text whose bit is clear is in no secret, and most are.
	grams *gramSet
}

// gramSet is a one-hash Bloom filter of 8-byte windows; 2^16 bits keeps
// false hits to a few percent for the few thousand windows a key has.
type gramSet [1 << 16 / 64]uint64

func gramHash(s string) uint32 {
	_ = s[7]
	v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	return uint32((v * 0x9e3779b97f4a7c15) >> 48)
}

func (g *gramSet) add(s string) {
	h := gramHash(s)
	g[h/64] |= 1 << (h % 64)
}

func (g *gramSet) has(s string) bool {
	h := gramHash(s)
	return g[h/64]&(1<<(h%64)) != 0
}

func newCleaner(k *vault.Key) *cleaner { return &cleaner{key: k} }

// addSecret scrubs s, the access token, from all text cleaned from now on.
func (c *cleaner) addSecret(s string) {
	if s == "" {
		return
	}
	c.tokens = append(c.tokens, s)
	if c.built {
		c.addForms(secretForms(s))
	}
}

// clean makes outside text fit for one line of a report:
//   - printable: control characters (C0, C1, DEL), format characters
//     (bidirectional overrides, zero-width) and invalid UTF-8 are dropped;
//     terminal escape and control sequences (CSI, OSC, DCS and the other
//     control strings, in their 7- and 8-bit forms) are dropped whole;
//     every run of white space is one space;
//   - without any fragment of a secret, in any of the encodings
//     secretForms lists, in any letter case: replaced by ***;
//   - at most cleanMax runes (two more where that keeps a *** whole),
//     cut with "…".
func (c *cleaner) clean(s string) string { return c.cleanTo(s, cleanMax) }

// cleanTo is clean with another cap than cleanMax, for text that holds
// calmkey's own words around outside text (a recorded step's detail).
func (c *cleaner) cleanTo(s string, most int) string {
	t, cut := printable(s)
	t = c.scrub(t)
	if cut {
		// Text beyond the window was never looked at; a secret that
		// straddles its edge leaves a piece shorter than fragment that
		// scrub cannot recognise. Drop that much.
		t = trimRunes(t, fragment-1)
	}
	t = strings.TrimSpace(t)
	if r := []rune(t); len(r) > most {
		// Not inside a ***: a reader should see that something was
		// taken out.
		end := most
		for end < len(r) && end < most+len(scrubbed)-1 && r[end] == '*' && r[end-1] == '*' {
			end++
		}
		return string(r[:end]) + "…"
	}
	if cut {
		t += "…"
	}
	return t
}

// scopes splits a token reply's scope value into the scopes fit to list and
// a count of the others. A scope is listed only when it is 1 to maxScopeLen
// characters of [A-Za-z0-9._:/!|-], as XSUAA's scopes are, and holds no
// fragment of a secret; at most maxScopes are listed.
func (c *cleaner) scopes(value string) (shown []string, hidden int) {
	for sc := range strings.FieldsSeq(value) {
		if len(shown) < maxScopes && plainScope(sc) && c.scrub(sc) == sc {
			shown = append(shown, sc)
		} else {
			hidden++
		}
	}
	return shown, hidden
}

func plainScope(s string) bool {
	if len(s) == 0 || len(s) > maxScopeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("._:/!|-", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// scrub replaces every run of t that matches a secret's forms, fragment
// characters at a time, by ***.
func (c *cleaner) scrub(t string) string {
	c.build()
	if len(t) == 0 || (c.hay == "" && len(c.short) == 0) {
		return t
	}
	spans := c.secretSpans(t)
	if len(spans) == 0 {
		return t
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(t[last:sp[0]])
		b.WriteString(scrubbed)
		last = sp[1]
	}
	b.WriteString(t[last:])
	return b.String()
}

// secretSpans are the byte ranges of t that hold a secret's text, sorted
// and disjoint: every window of fragment bytes found in a secret's forms,
// widened to whole runes, and every whole match of a form shorter than
// fragment.
func (c *cleaner) secretSpans(t string) [][2]int {
	low := lowerASCII(t)
	var spans [][2]int // sorted, disjoint
	for i := 0; i+fragment <= len(low); i++ {
		w := low[i : i+fragment]
		if !c.grams.has(w) || !strings.Contains(c.hay, w) {
			continue
		}
		// Whole runes only: a match in a secret that is not ASCII may
		// start inside a character.
		a, b := i, i+fragment
		for a > 0 && !utf8.RuneStart(t[a]) {
			a--
		}
		for b < len(t) && !utf8.RuneStart(t[b]) {
			b++
		}
		if n := len(spans); n > 0 && a <= spans[n-1][1] {
			spans[n-1][1] = max(spans[n-1][1], b)
			continue
		}
		spans = append(spans, [2]int{a, b})
	}
	if len(c.short) == 0 {
		return spans
	}
	for _, f := range c.short {
		for i := 0; ; {
			j := strings.Index(low[i:], f)
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(f)})
			i += j + len(f)
		}
	}
	return mergeSpans(spans)
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(spans [][2]int) [][2]int {
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	merged := spans[:0]
	for _, sp := range spans {
		if n := len(merged); n > 0 && sp[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], sp[1])
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// build gathers the forms of the secrets, once: most runs clean nothing, or
// only a few scopes.
func (c *cleaner) build() {
	if c.built {
		return
	}
	c.built = true
	var forms []string
	if c.key != nil {
		if s := c.key.ClientSecret(); s != "" {
			forms = append(forms, secretForms(s)...)
		}
		// The PEM body, and so every line of it; the key never leaves the
		// machine, so no other encoding of it can come back.
		forms = append(forms, privateKeyBodies(c.key)...)
	}
	for _, tok := range c.tokens {
		forms = append(forms, secretForms(tok)...)
	}
	c.addForms(forms)
}

// addForms adds forms to hay, or to short, in lower case.
func (c *cleaner) addForms(forms []string) {
	n := len(c.hay)
	for _, f := range forms {
		n += len(f) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(c.hay)
	start := len(c.hay)
	for _, f := range forms {
		if len(f) < fragment {
			if f = lowerASCII(f); f != "" && !slices.Contains(c.short, f) {
				c.short = append(c.short, f)
			}
			continue
		}
		for i := 0; i < len(f); i++ {
			ch := f[i]
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			b.WriteByte(ch)
		}
		b.WriteByte(0)
	}
	c.hay = b.String()
	if c.grams == nil {
		c.grams = new(gramSet)
	}
	for i := max(start-fragment+1, 0); i+fragment <= len(c.hay); i++ {
		c.grams.add(c.hay[i : i+fragment])
	}
}

// secretForms are the encodings in which a client sends s, or a careless
// server or proxy echoes it: as is, URL query- and path-escaped, hex, and
// base64 in the standard and URL alphabets, padded or not. Base64 is taken
// at each of the three byte alignments, so that s is found inside any
// base64 text that holds it, as in a Basic header's base64("clientid:" + s),
// and also when s was query-escaped first, as RFC 6749 asks for Basic. Letter
// case is handled by matching in lower case.
func secretForms(s string) []string {
	query, path := url.QueryEscape(s), url.PathEscape(s)
	forms := []string{s, hex.EncodeToString([]byte(s))}
	encoded := []string{s}
	if query != s {
		forms = append(forms, query)
		encoded = append(encoded, query)
	}
	if path != s && path != query {
		forms = append(forms, path)
	}
	for _, t := range encoded {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			for a := range 3 {
				// a filler bytes before t; the characters that carry any of
				// the filler's bits are dropped. The padded tail stays:
				// raw (unpadded) text is a prefix of it.
				e := enc.EncodeToString(append(make([]byte, a, a+len(t)), t...))
				forms = append(forms, e[(8*a+5)/6:])
			}
		}
	}
	return forms
}

// privateKeyBodies returns the base64 bodies of the x509 key's private key
// PEM blocks, read from the key's text as uploaded: a JSON string, so line
// breaks are \n and a slash may be \/. Parsing the JSON would cost more than
// the rest of the cleaning together. If no body is found there, it is the
// key re-encoded as PKCS #8.
func privateKeyBodies(k *vault.Key) []string {
	if k.CredentialType != vault.X509 {
		return nil
	}
	var bodies []string
	const begin, end, dashes = "-----BEGIN ", "-----END ", "-----"
	text := string(k.Bytes())
	for {
		i := strings.Index(text, begin)
		if i < 0 {
			break
		}
		text = text[i+len(begin):]
		label, rest, ok := strings.Cut(text, dashes)
		body, _, found := strings.Cut(rest, end)
		if !ok || !found {
			break
		}
		text = rest[len(body):]
		if strings.Contains(label, "PRIVATE KEY") {
			bodies = append(bodies, base64Body(body))
		}
	}
	if len(bodies) > 0 {
		return bodies
	}
	if c, err := k.TLSCertificate(); err == nil {
		if der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey); err == nil {
			return []string{base64.StdEncoding.EncodeToString(der)}
		}
	}
	return nil
}

// base64Body keeps the base64 characters of a PEM body written in a JSON
// string, dropping its escaped line breaks.
func base64Body(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '/' {
				b.WriteByte('/')
			}
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '=':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// printable drops from s what a terminal would act on or a reader cannot
// see, and folds white space; see clean. It looks at no more than cleanWork
// bytes of output and reports whether it stopped early.
func printable(s string) (string, bool) {
	var b strings.Builder
	b.Grow(min(len(s), cleanWork))
	space := false
	for i := 0; i < len(s); {
		if b.Len() >= cleanWork {
			return b.String(), true
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == 0x1b: // ESC
			i += escapeLen(s[i:])
		case r == 0x9b: // CSI
			i += csiLen(s[i:])
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // DCS, SOS, OSC, PM, APC
			i += controlStringLen(s[i:])
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case r == utf8.RuneError && n == 1, !unicode.IsPrint(r):
			// Invalid UTF-8, C0 and C1 controls, DEL, format and private
			// use characters, unassigned code points.
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String(), false
}

// escapeLen is the length of the escape sequence that follows an ESC in s.
func escapeLen(s string) int {
	if s == "" {
		return 0
	}
	switch c := s[0]; {
	case c == '[':
		return 1 + csiLen(s[1:])
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return 1 + controlStringLen(s[1:])
	case 0x20 <= c && c <= 0x2f:
		return runThenFinal(s, 0x2f, 0x30)
	case 0x30 <= c && c <= 0x7e:
		return 1
	}
	return 0
}

// csiLen is the length of a control sequence's parameters, intermediates and
// final byte at the start of s.
func csiLen(s string) int { return runThenFinal(s, 0x3f, 0x40) }

// runThenFinal is the length of a run of bytes from 0x20 to last and one
// final byte from final to 0x7e at the start of s: an escape sequence's
// intermediates (and a control sequence's parameters), then its final byte.
func runThenFinal(s string, last, final byte) int {
	j := 0
	for j < len(s) && 0x20 <= s[j] && s[j] <= last {
		j++
	}
	if j < len(s) && final <= s[j] && s[j] <= 0x7e {
		j++
	}
	return j
}

// controlStringLen is the length of an OSC, DCS, SOS, PM or APC string and
// its terminator (BEL, ST as ESC \ or U+009C, or CAN or SUB, which abort
// it) at the start of s; an ESC that starts another sequence ends it too.
// An unterminated string runs to the end, as a terminal would read it.
func controlStringLen(s string) int {
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case 0x07, 0x18, 0x1a, 0x9c:
			return j + 1
		case 0x1b:
			if j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
			return j
		case 0xc2:
			if j+1 < len(s) && s[j+1] == 0x9c {
				return j + 2
			}
		}
	}
	return len(s)
}

// trimRunes drops the last n runes of s.
func trimRunes(s string, n int) string {
	for ; n > 0 && s != ""; n-- {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// lowerASCII lowers ASCII letters only, so that byte offsets stay the same.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
