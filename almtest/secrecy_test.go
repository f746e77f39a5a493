package almtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// Terminal sequences a hostile server sends: OSC (set the window title; a
// hyperlink), CSI (clear the screen, colours) in 7- and 8-bit forms, a DCS
// string, a bidirectional override.
const (
	osc      = "\x1b]0;pwned\x07"
	oscLink  = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
	csi      = "\x1b[2J\x1b[31m"
	c1       = "\u009b2J\u009d0;pwned\u009c"
	dcs      = "\x1bPq#0;2;0;0;0\x1b\\"
	bidi     = "\u202e"
	terminal = osc + oscLink + csi + c1 + dcs + bidi
)

// echoes are the forms in which a careless or hostile server might repeat
// the client id and secret it was sent.
func echoes(id, secret string) [][2]string {
	std, raw, urlEnc, rawURL := base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding
	b64 := func(e *base64.Encoding, s string) string { return e.EncodeToString([]byte(s)) }
	basic := id + ":" + secret
	basicForm := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	secretStart := (8*(len(id)+1) + 5) / 6 // first base64 character of basic that is the secret's alone
	return [][2]string{
		{"plain", secret},
		{"upper case", strings.ToUpper(secret)},
		{"lower case", strings.ToLower(secret)},
		{"query-escaped", url.QueryEscape(secret)},
		{"query-escaped, upper case", strings.ToUpper(url.QueryEscape(secret))},
		{"path-escaped", url.PathEscape(secret)},
		{"base64", b64(std, secret)},
		{"base64 unpadded", b64(raw, secret)},
		{"base64url", b64(urlEnc, secret)},
		{"base64url unpadded", b64(rawURL, secret)},
		{"base64, upper case", strings.ToUpper(b64(std, secret))},
		{"base64, lower case", strings.ToLower(b64(std, secret))},
		{"Basic header", "Basic " + b64(std, basic)},
		{"Basic header of form-encoded id and secret", "Basic " + b64(std, basicForm)},
		{"base64url of clientid:secret", b64(rawURL, basic)},
		{"hex", hex.EncodeToString([]byte(secret))},
		{"hex, upper case", strings.ToUpper(hex.EncodeToString([]byte(secret)))},
		{"8-character prefix", secret[:8]},
		{"12-character prefix, upper case", strings.ToUpper(secret[:12])},
		{"8 characters from the middle", secret[9:17]},
		{"10 characters of the base64", b64(std, secret)[7:17]},
		{"12 characters of the Basic header's secret part", b64(std, basic)[secretStart+3 : secretStart+15]},
		{"split by a CSI sequence", secret[:10] + "\x1b[0m" + secret[10:]},
		{"split by an OSC sequence", secret[:15] + osc + secret[15:]},
		{"split by a zero-width space", secret[:10] + "\u200b" + secret[10:]},
		{"split by a line break", secret[:20] + "\r\n" + secret[20:]},
	}
}

// rawReply answers with bytes net/http would refuse to send (control
// characters in a header, a broken status line).
func rawReply(w http.ResponseWriter, raw string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString(raw)
	_ = buf.Flush()
}

// hostileCert is a self-signed server certificate with the given issuer and
// subject name and DNS names, which a hostile or broken server may carry,
// and ips.
func hostileCert(t *testing.T, cn string, names []string, ips ...net.IP) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{cn}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("hostile certificate: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type secrecySetup struct {
	name  string
	x509  bool
	set   func()
	key   func() []byte      // nil: the servers' key of the kind
	roots *x509.CertPool     // nil: the servers' CA
	check func(*Report) bool // the setup did what it meant to (nil: nothing to check)
}

// TestReportsHoldNoSecret renders reports of every outcome in every form and
// looks for the client secret, the private key and the tokens issued, in
// any encoding and letter case, and for terminal control characters. The
// servers here also echo what they received, as a careless or hostile server
// might: in the token reply's error and error_description, its scope, a
// form-encoded error, a redirect's Location, a content type, a broken status
// line, certificate names; with terminal escape sequences and huge strings;
// to prove that all text from outside is cleaned before it is shown.
func TestReportsHoldNoSecret(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{KeyAlg: testkeys.ECDSA})
	thief := fakealm.StartSink(t, srv.CA)
	var mu sync.Mutex
	var ownTokens []string // tokens the hostile handlers issue themselves
	hostileToken := func() string {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		tok := "hostile-" + base64.RawURLEncoding.EncodeToString(b)
		mu.Lock()
		ownTokens = append(ownTokens, tok)
		mu.Unlock()
		return tok
	}
	echo := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			// The raw body, encoded and decoded, in the fields a client
			// might show.
			fmt.Fprintf(w, `{"error":%q,"error_description":%q}`, r.PostForm.Encode(), "secret was "+r.PostForm.Get("client_secret"))
		})
	}
	scrubbedIn := func(r *Report) bool { return strings.Contains(r.Steps[0].Detail, scrubbed) }
	setups := []secrecySetup{
		{name: "works", set: func() {}},
		{name: "works x509", x509: true, set: func() {}},
		{name: "api 403", set: func() { srv.SetScopes("uaa.resource") }},
		{name: "api 401", set: func() { srv.SetAPIStatus(401) }},
		{name: "api 500", set: func() { srv.SetAPIStatus(500) }},
		{name: "api redirect", set: func() { srv.SetAPIHandler(http.RedirectHandler(thief.URL, http.StatusFound)) }},
		{name: "rejected", set: func() { srv.RejectKey(true) }},
		{name: "rejected x509", x509: true, set: func() { srv.RejectKey(true) }},
		{name: "echo 401", set: func() { srv.SetTokenHandler(echo(401)) }, check: scrubbedIn},
		{name: "echo 400", set: func() { srv.SetTokenHandler(echo(400)) }, check: scrubbedIn},
		{name: "echo 500", set: func() { srv.SetTokenHandler(echo(500)) }, check: scrubbedIn},
		{name: "echo 200", set: func() { srv.SetTokenHandler(echo(200)) }},
		{name: "token redirect", set: func() { srv.SetTokenHandler(http.RedirectHandler(thief.URL, http.StatusFound)) }},
		{name: "untrusted", roots: testkeys.NewCA(t).Pool, set: func() {}},
	}

	// The secret, echoed in each form into each place a client might show.
	places := []struct {
		name  string
		reply func(w http.ResponseWriter, v string)
		check func(*Report) bool
	}{
		{"error_description", func(w http.ResponseWriter, v string) {
			writeJSONReply(w, 400, map[string]any{"error": "invalid_request", "error_description": terminal + "you sent " + v + osc})
		}, scrubbedIn},
		{"error", func(w http.ResponseWriter, v string) {
			writeJSONReply(w, 401, map[string]any{"error": v + csi})
		}, scrubbedIn},
		{"form-encoded error", func(w http.ResponseWriter, v string) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(500)
			_, _ = io.WriteString(w, url.Values{"error": {c1 + v}, "error_description": {v + terminal}}.Encode())
		}, scrubbedIn},
		{"scope", func(w http.ResponseWriter, v string) {
			writeJSONReply(w, 200, map[string]any{"access_token": hostileToken(), "token_type": "bearer", "expires_in": 3600,
				"scope": "uaa.resource " + v + " " + osc + "calm-api.read" + csi})
		}, func(r *Report) bool {
			// "Basic" is a fine scope name; what follows it is not.
			plain := slices.DeleteFunc(slices.Clone(r.Scopes), func(s string) bool { return s == "Basic" })
			return r.Steps[0].Status == StatusOK && slices.Equal(plain, []string{"uaa.resource"}) && strings.Contains(r.Steps[0].Detail, "not shown")
		}},
		{"Location", func(w http.ResponseWriter, v string) {
			// The host as sent, and as a URL parser will read it.
			rawReply(w, "HTTP/1.1 302 Found\r\nLocation: https://"+v+".evil.example"+csi+"/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}, func(r *Report) bool {
			// A line break in the echo breaks the header: then the error
			// quotes the line.
			d := r.Steps[0].Detail
			return strings.Contains(d, scrubbed) || strings.Contains(d, "unreadable location")
		}},
		{"Location host", func(w http.ResponseWriter, v string) {
			w.Header().Set("Location", "https://"+url.PathEscape(strings.ToLower(v))+".evil.example/")
			w.WriteHeader(http.StatusFound)
		}, func(r *Report) bool {
			d := r.Steps[0].Detail
			return strings.Contains(d, "redirected to") && (strings.Contains(d, scrubbed) || strings.Contains(d, "unreadable location"))
		}},
		{"Content-Type", func(w http.ResponseWriter, v string) {
			rawReply(w, "HTTP/1.1 200 OK\r\nContent-Type: application/x-"+v+osc+"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
		}, nil},
		{"body", func(w http.ResponseWriter, v string) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>"+terminal+v+"</html>")
		}, nil},
		{"status line", func(w http.ResponseWriter, v string) {
			// One word, so that the error quotes all of it.
			rawReply(w, "HTTP/1.1 "+strings.ReplaceAll(v, " ", "_")+terminal+"\r\n\r\n")
		}, scrubbedIn},
	}
	for _, e := range echoes(testkeys.ClientID, testkeys.Secret) {
		for _, p := range places {
			setups = append(setups, secrecySetup{
				name: fmt.Sprintf("secret %s in the %s", e[0], p.name),
				set: func() {
					srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						_ = r.ParseForm()
						// Echo what arrived, not the test's constant: the
						// client's own encoding is part of the test.
						got := echoes(r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"))
						for _, g := range got {
							if g[0] == e[0] {
								p.reply(w, g[1])
								return
							}
						}
					}))
				},
				check: p.check,
			})
		}
	}

	// The token, echoed by the API host.
	bearer := func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") }
	apiScrubbed := func(r *Report) bool {
		return r.Steps[0].Status == StatusOK && strings.Contains(r.Steps[1].Detail, scrubbed)
	}
	apiRedirected := func(r *Report) bool {
		return apiScrubbed(r) && strings.Contains(r.Steps[1].Detail, "redirected to host")
	}
	for _, tokenForm := range []struct {
		name string
		enc  func(string) string
	}{
		{"plain", func(s string) string { return s }},
		{"upper case", strings.ToUpper},
		{"base64url", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
		{"prefix", func(s string) string { return s[:12] }},
	} {
		setups = append(setups,
			secrecySetup{
				name: "token " + tokenForm.name + " in the API's Location",
				set: func() {
					srv.SetAPIHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("Location", "https://"+tokenForm.enc(bearer(r))+".evil.example/")
						w.WriteHeader(http.StatusFound)
					}))
				},
				check: apiRedirected,
			},
			secrecySetup{
				name: "token " + tokenForm.name + " in the API's Location, with escape sequences",
				set: func() {
					srv.SetAPIHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						rawReply(w, "HTTP/1.1 302 Found\r\nLocation: https://"+tokenForm.enc(bearer(r))+".evil.example"+osc+"/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
					}))
				},
				check: apiScrubbed,
			},
			secrecySetup{
				name: "token " + tokenForm.name + " in the API's status line",
				set: func() {
					srv.SetAPIHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						rawReply(w, "HTTP/1.1 "+tokenForm.enc(bearer(r))+terminal+"\r\n\r\n")
					}))
				},
				check: apiScrubbed,
			})
	}

	// Certificate names, as a hostile or intercepting server may send them.
	names := []string{
		strings.ToLower(testkeys.Secret) + ".evil.example",
		"x" + osc + oscLink + csi + dcs + ".evil.example", // IA5: 7-bit only
		base64.RawURLEncoding.EncodeToString([]byte(testkeys.Secret)) + ".evil.example",
		strings.Repeat("long.", 1000) + "example",
	}
	certServer := func(cert tls.Certificate) (key func() []byte, trustsIt *x509.CertPool) {
		ts := startTLS(t, srv.CA, http.NotFoundHandler(), func(c *tls.Config) { c.Certificates = []tls.Certificate{cert} })
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		trustsIt = x509.NewCertPool()
		trustsIt.AddCert(leaf)
		return func() []byte { return srv.SecretKeyWith(testkeys.Fields{UAAURL: ts.URL}) }, trustsIt
	}
	// Valid for the host, issued by a hostile name nobody trusts.
	issuerKey, _ := certServer(hostileCert(t, terminal+testkeys.Secret+strings.Repeat("Z", 5000), nil, net.IPv4(127, 0, 0, 1)))
	// Trusted, and for hostile names only.
	namesKey, trustsIt := certServer(hostileCert(t, "calmkey hostile", names))
	setups = append(setups,
		secrecySetup{name: "hostile issuer name", set: func() {}, key: issuerKey,
			check: func(r *Report) bool {
				return strings.Contains(r.Steps[0].Detail, "not trusted") && strings.Contains(r.Steps[0].Detail, scrubbed)
			}},
		secrecySetup{name: "hostile certificate names", set: func() {}, key: namesKey, roots: trustsIt,
			check: func(r *Report) bool {
				return strings.Contains(r.Steps[0].Detail, "is for") && strings.Contains(r.Steps[0].Detail, scrubbed)
			}},
	)

	// Huge strings.
	setups = append(setups,
		secrecySetup{name: "huge error_description", set: func() {
			srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				sec := r.PostForm.Get("client_secret")
				// Under the megabyte a client reads.
				writeJSONReply(w, 400, map[string]any{"error": strings.Repeat(osc, 10000), "error_description": sec + strings.Repeat(csi+"A", 30000) + sec})
			}))
		}, check: scrubbedIn},
		secrecySetup{name: "huge scope", set: func() {
			srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				writeJSONReply(w, 200, map[string]any{"access_token": hostileToken(), "expires_in": 99999999999,
					"scope": strings.Repeat("calm-api.x ", 50000) + r.PostForm.Get("client_secret") + " " + strings.Repeat("y", 100000)})
			}))
		}, check: func(r *Report) bool {
			return len(r.Scopes) == maxScopes && r.TokenLifetime == 0 && strings.Contains(r.Steps[0].Detail, "50002 scopes (49938 not shown")
		}},
	)

	reset := func() {
		srv.SetScopes(fakealm.DefaultScopes...)
		srv.SetAPIStatus(0)
		srv.SetAPIHandler(nil)
		srv.SetTokenHandler(nil)
		srv.RejectKey(false)
	}
	var reports []*Report
	for _, s := range setups {
		reset()
		s.set()
		var data []byte
		switch {
		case s.key != nil:
			data = s.key()
		case s.x509:
			data = srv.X509Key()
		default:
			data = srv.SecretKey()
		}
		roots := s.roots
		if roots == nil {
			roots = srv.RootCAs()
		}
		r := Run(context.Background(), parse(t, data), Options{RootCAs: roots, Timeout: 10 * time.Second})
		if strings.HasPrefix(s.name, "works") && !r.OK {
			t.Fatalf("%s: the setup is wrong, logon should work:\n%s", s.name, r)
		}
		if s.check != nil && !s.check(r) {
			// The report is printed only if it passes the scan: test
			// output holds no secret either.
			forms := renderings(t, r)
			mu.Lock()
			tokens := append(srv.Tokens(), ownTokens...)
			mu.Unlock()
			if l := leak(forms, secretWindows(srv, tokens...)) + controlIn(forms); l != "" {
				t.Errorf("%s: the report is not what the setup is for, and %s", s.name, l)
			} else {
				t.Errorf("%s: the report is not what the setup is for:\n%s", s.name, r)
			}
		}
		for _, st := range r.Steps {
			if len(st.Detail) > 1000 || len(st.Hint) > 1000 {
				t.Errorf("%s: %s step's text is %d+%d bytes long", s.name, st.ID, len(st.Detail), len(st.Hint))
			}
		}
		reports = append(reports, r)
	}
	if len(srv.Tokens()) < 4 || len(ownTokens) < 20 {
		t.Fatalf("only %d+%d tokens issued; the setups did not run as meant", len(srv.Tokens()), len(ownTokens))
	}
	windows := secretWindows(srv, append(srv.Tokens(), ownTokens...)...)

	// The search itself must be able to fail: a planted secret is found in
	// each encoding, a planted control character too.
	for _, e := range echoes(testkeys.ClientID, testkeys.Secret) {
		planted := &Report{Steps: []Step{{ID: StepToken, Status: StatusFail, Detail: "x " + strings.ReplaceAll(e[1], "\r\n", "")}}}
		if strings.HasPrefix(e[0], "split") {
			continue
		}
		if leak(renderings(t, planted), windows) == "" {
			t.Fatalf("the secret search finds nothing even when the secret (%s) is there", e[0])
		}
	}
	for _, c := range []string{"\x1b", "\a", "\u009b", "\x7f", "\xff"} {
		if controlIn(renderings(t, &Report{Scopes: []string{"a" + c}})) == "" {
			t.Fatalf("the control search misses %q", c)
		}
	}

	for i, r := range reports {
		forms := renderings(t, r)
		if l := leak(forms, windows); l != "" {
			t.Errorf("%s: %s", setups[i].name, l)
		}
		if c := controlIn(forms); c != "" {
			t.Errorf("%s: %s", setups[i].name, c)
		}
		for _, sc := range r.Scopes {
			if !plainScope(sc) {
				t.Errorf("%s: the scope %q is listed", setups[i].name, sc)
			}
		}
	}
	t.Logf("%d reports, %d renderings each, scanned for %d secret fragments", len(reports), len(renderings(t, reports[0])), len(windows))
}

func writeJSONReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TestCleanText checks the one function that cleans outside text, case by
// case; TestReportsHoldNoSecret checks that everything goes through it.
func TestCleanText(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	c := newCleaner(parse(t, srv.SecretKey()))
	for in, want := range map[string]string{
		"Bad credentials":                          "Bad credentials",
		"a" + osc + "b":                            "ab",
		"a" + oscLink + "b":                        "aclickb",
		csi + "red\x1b[0m":                         "red",
		"x" + c1 + "y":                             "xy",
		"x" + dcs + "y":                            "xy",
		"x\x1b(By\x1b7z\x1bc":                      "xyz",
		"unterminated \x1b]0;title to the end":     "unterminated",
		"lone \x1b":                                "lone",
		"tab\there\r\nnext\u0085line\u00a0nbsp":    "tab here next line nbsp",
		"bidi" + bidi + "gnp.exe\u200b\u00ad":      "bidignp.exe",
		"del\x7fete \x00nul \x9b[2J \xff\xfe":      "delete nul [2J",
		"  spaces   inside  ":                      "spaces inside",
		"Grüße, 日本語のエラー":                           "Grüße, 日本語のエラー",
		"secret " + testkeys.Secret + " end":       "secret *** end",
		"pieces 0a1b2c3 d-TEST":                    "pieces 0a1b2c3 d-TEST", // 7 and 6 characters: not scrubbed
		"clientsecret (uaa.clientsecret) missing.": "clientsecret (uaa.clientsecret) missing.",
	} {
		if got := c.clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}

	// Long text is cut at cleanMax runes, looked at no further than
	// cleanWork bytes, and a secret at its edge is not left in part.
	long := c.clean(strings.Repeat("é", 10000))
	if utf8.RuneCountInString(long) != cleanMax+1 || !strings.HasSuffix(long, "…") {
		t.Fatalf("long text: %d runes, %q...", utf8.RuneCountInString(long), long[:10])
	}
	for shift := range len(testkeys.Secret) {
		edge := strings.Repeat("x", shift) + strings.Repeat(testkeys.Secret, cleanWork/len(testkeys.Secret)+2)
		if got := c.clean(edge); strings.Trim(got, "x*…") != "" {
			t.Fatalf("a secret cut at the window's edge shows in part: %q", got)
		}
	}

	// Every form of the secret, anywhere in a text, in any case.
	for _, e := range echoes(testkeys.ClientID, testkeys.Secret) {
		got := c.clean("before " + e[1] + " after")
		if !strings.Contains(got, scrubbed) || leak(map[string]string{e[0]: got}, secretWindows(srv)) != "" {
			t.Errorf("%s: not scrubbed: %q", e[0], got)
		}
	}

	// The token is scrubbed once known, and not before: the check can fail.
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYWxta2V5In0.c2lnbmF0dXJl"
	if got := c.clean("Bearer " + tok); !strings.Contains(got, tok) {
		t.Fatalf("an unknown token was changed: %q", got)
	}
	c.addSecret(tok)
	for _, v := range []string{tok, strings.ToUpper(tok), tok[10:30], base64.StdEncoding.EncodeToString([]byte(tok)), url.QueryEscape(tok)} {
		if got := c.clean("Bearer " + v); got != "Bearer "+scrubbed {
			t.Errorf("token form not scrubbed: %q", got)
		}
	}

	// x509, each encoding SAP keys come with: every line of the private
	// key's body, and the whole PEM.
	for _, alg := range []testkeys.Alg{testkeys.RSAPKCS1, testkeys.RSAPKCS8, testkeys.ECDSA} {
		xs := fakealm.Start(t, fakealm.Options{KeyAlg: alg})
		xk := newCleaner(parse(t, xs.X509Key()))
		_, keyPEM := xs.ClientPEM()
		lines := 0
		for _, line := range strings.Split(keyPEM, "\n") {
			if line == "" || strings.HasPrefix(line, "-----") {
				continue
			}
			lines++
			if got := xk.clean("key: " + line); got != "key: "+scrubbed {
				t.Errorf("alg %d: private key line not scrubbed: %q", alg, got)
			}
		}
		if got := xk.clean(keyPEM); leak(map[string]string{"PEM": got}, secretWindows(xs)) != "" {
			t.Errorf("alg %d: private key PEM not scrubbed: %q", alg, got)
		}
		if lines < 2 {
			t.Fatalf("alg %d: the key's PEM has only %d body lines", alg, lines)
		}
	}
	// A JSON writer may escape the slashes in a PEM body.
	if got := base64Body(`MIIB\/ab+c\nDEF/==\r\n`); got != "MIIB/ab+cDEF/==" {
		t.Errorf("base64Body: %q", got)
	}

	// A secret shorter than a fragment is matched whole.
	short := newCleaner(parse(t, srv.SecretKeyWith(testkeys.Fields{Secret: "Ab$12x"})))
	if got := short.clean("x ab$12X ab%2412x y"); got != "x *** *** y" {
		t.Errorf("short secret: %q", got)
	}

	// Scopes: listed only when plain and not secret.
	shown, hidden := c.scopes("uaa.resource calm-api!b16907.projects.read sap|x:y/z_1-2 bad$scope " +
		strings.Repeat("l", maxScopeLen+1) + " " + testkeys.Secret[:20] + " " + osc + "title " + "ü.read")
	if !slices.Equal(shown, []string{"uaa.resource", "calm-api!b16907.projects.read", "sap|x:y/z_1-2"}) || hidden != 5 {
		t.Fatalf("scopes shown %q, %d hidden", shown, hidden)
	}
}

// FuzzClean: whatever a server sends, the cleaned text is valid UTF-8 with
// no control character, about cleanMax runes at most, and holds no 8
// characters of the secret in any form.
func FuzzClean(f *testing.F) {
	for _, e := range echoes(testkeys.ClientID, testkeys.Secret) {
		f.Add(e[1])
		f.Add(terminal + e[1][:len(e[1])/2] + osc + e[1][len(e[1])/2:])
	}
	f.Add(strings.Repeat("\x1b[", 3000) + testkeys.Secret)
	key, err := vault.Parse(testkeys.SecretKey(testkeys.Fields{UAAURL: "https://127.0.0.1:1", CertURL: "https://127.0.0.1:1", APIURL: "https://127.0.0.1:1/api"}))
	if err != nil {
		f.Fatal(err)
	}
	windows := map[string]string{}
	for w, form := range secretWindows(&fakealm.Server{}) {
		if form != "private key" {
			windows[w] = form
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := newCleaner(key)
		got := c.clean(s)
		// cleanMax, a *** kept whole, and "…".
		if utf8.RuneCountInString(got) > cleanMax+len(scrubbed) {
			t.Fatalf("%d runes", utf8.RuneCountInString(got))
		}
		forms := map[string]string{"cleaned": got}
		if strings.Contains(got, "\n") {
			t.Fatal("a line break")
		}
		if l := controlIn(forms); l != "" {
			t.Fatal(l)
		}
		if l := leak(forms, windows); l != "" {
			t.Fatal(l)
		}
	})
}
