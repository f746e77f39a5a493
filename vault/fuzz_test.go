package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// FuzzParse: Parse never panics, and whatever it accepts keeps every rule,
// checked here independently of the parser's own code.
func FuzzParse(f *testing.F) {
	secret := testkeys.SecretKey(testkeys.Fields{})
	ca := testkeys.NewCA(f)
	chain, key := ca.Client(f, "fuzz", time.Now().Add(24*time.Hour), testkeys.ECDSA)
	x509File := testkeys.X509Key(testkeys.Fields{}, chain, key)
	seeds := [][]byte{
		secret,
		x509File,
		append([]byte("\xEF\xBB\xBF"), crlf(secret)...),
		[]byte("Getting key k for service instance i as u...\n\n" + string(secret)),
		[]byte(`{"credentials":` + string(secret) + `}`),
		testkeys.SecretKey(testkeys.Fields{Type: "-"}),
		testkeys.SecretKey(testkeys.Fields{Type: "instance-secret", ClientID: "x"}),
		[]byte(`{"uaa":{"clientid":"a","clientsecret":"b","url":"https://h","credential-type":"binding-secret"},"endpoints":{"Api":"https://h/api"}}`),
		[]byte(`{"uaa":{"clientid":"a","url":"https://h","credential-type":"x509","certificate":"","key":"","certurl":"https://h"},"endpoints":{"Api":"https://h"}}`),
		[]byte(`{}`), []byte(`[]`), []byte(`{"credentials":{}}`), []byte("Getting key\n{"), []byte(""), []byte("\xEF\xBB\xBF"),
		append(bytes.Clone(secret), " x"...),
		// The stricter check: a fragment, query or user info in a URL,
		// a member twice (under an escaped spelling), control and bidi
		// characters in shown fields, hosts that warn.
		[]byte(`{"uaa":{"clientid":"a","clientsecret":"b","url":"https://127.0.0.1:37099#@acme.authentication.eu10.hana.ondemand.com","credential-type":"binding-secret"},"endpoints":{"Api":"https://h/api"}}`),
		[]byte(`{"uaa":{"clientid":"a","clientsecret":"b","url":"https://h?q","credential-type":"binding-secret"},"endpoints":{"Api":"https://u@h/api"}}`),
		[]byte(`{"uaa":{"clientid":"a","clientsecret":"b","url":"https://acme.example","u\u0072l":"https://evil.example","credential-type":"binding-secret"},"endpoints":{"Api":"https://h/api"}}`),
		[]byte(`{"uaa":{"clientid":"a\u001b]0;x\u0007","identityzone":"z\u202e","clientsecret":"b","url":"https://h","credential-type":"binding-secret"},"endpoints":{"Api":"https://h/api"}}`),
		[]byte(`{"uaa":{"clientid":"a","clientsecret":{"v":"b"},"key":[1],"url":"https://xn--cme-8cd.authentication.eu10.x:8443","uaadomain":"authentication.eu10.x","credential-type":"binding-secret"},"endpoints":{"Api":"https://[::1]/api"}}`),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.Is(err, ErrTooLarge) && (!errors.As(err, &fe) || len(fe.Problems) == 0) {
				t.Fatalf("rejected without problems: %v", err)
			}
			return
		}
		checkAccepted(t, data, k)
	})
}

// checkAccepted re-checks the rules on an accepted key by decoding its
// JSON with plain encoding/json.
func checkAccepted(t *testing.T, data []byte, k *Key) {
	t.Helper()
	if len(data) > MaxFileSize {
		t.Fatal("accepted more than MaxFileSize")
	}
	body := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))
	if !bytes.HasSuffix(body, []byte("}")) {
		t.Fatal("accepted text after the JSON object")
	}
	raw := k.Bytes()
	if !bytes.Equal(raw, data) && !bytes.Contains(data, raw) {
		t.Fatal("Bytes is neither the file nor a part of it")
	}
	var root struct {
		Endpoints map[string]any `json:"endpoints"`
		UAA       map[string]any `json:"uaa"`
	}
	if err := json.Unmarshal(k.JSON(true), &root); err != nil {
		t.Fatalf("accepted key's JSON does not decode: %v", err)
	}
	str := func(m map[string]any, name string) string {
		s, ok := m[name].(string)
		if !ok {
			t.Fatalf("accepted %s of type %T", name, m[name])
		}
		return s
	}
	shown := func(name, s string) {
		for _, r := range s {
			if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) {
				t.Fatalf("accepted %s with the invisible character %U", name, r)
			}
		}
	}
	httpsURL := func(m map[string]any, name string) {
		s := str(m, name)
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted %s that is not an https URL with a host", name)
		}
		if strings.ContainsAny(s, "?#@\\ ") {
			t.Fatalf("accepted %s with a query, fragment, user info, space or backslash", name)
		}
		shown(name, s)
	}
	// Shown fields, and every member name once per object: decoding the
	// JSON into maps and encoding it again keeps as many members as the
	// text has only when no name repeats.
	shown("clientid", k.ClientID)
	shown("identityzone", k.Tenant)
	if k.Tenant == "" {
		t.Fatal("accepted a key that names no tenant")
	}
	if n, m := countMembers(t, k.JSON(true)); n != m {
		t.Fatalf("accepted a key whose objects name a member twice (%d names, %d distinct)", n, m)
	}
	if strings.TrimSpace(str(root.UAA, "clientid")) == "" {
		t.Fatal("accepted an empty clientid")
	}
	httpsURL(root.UAA, "url")
	httpsURL(root.Endpoints, "Api")
	typ, declared := root.UAA["credential-type"]
	if declared != k.Declared {
		t.Fatal("Declared is wrong")
	}
	if declared {
		switch str(root.UAA, "credential-type") {
		case "binding-secret", "instance-secret", "x509":
		default:
			t.Fatalf("accepted credential-type %v", typ)
		}
	}
	switch {
	case k.CredentialType.IsSecret():
		if strings.TrimSpace(str(root.UAA, "clientsecret")) == "" || k.ClientSecret() != str(root.UAA, "clientsecret") {
			t.Fatal("accepted a secret key without its secret")
		}
	case k.CredentialType == X509:
		httpsURL(root.UAA, "certurl")
		c, err := k.TLSCertificate()
		if err != nil || c.Leaf == nil || !c.Leaf.NotAfter.After(time.Now().Add(-time.Minute)) {
			t.Fatalf("accepted an x509 key without a usable certificate: %v", err)
		}
	default:
		t.Fatalf("accepted credential type %q", k.CredentialType)
	}
	// What was accepted once is accepted again, the same way.
	again, err := Parse(raw)
	if err != nil {
		t.Fatalf("Bytes does not parse again: %v", err)
	}
	if again.GoString() != k.GoString() {
		t.Fatalf("reparse differs:\n%#v\n%#v", again, k)
	}
}

// countMembers counts the member names in a JSON document by scanning its
// text (n) and the members that survive decoding into maps (m).
func countMembers(t *testing.T, doc []byte) (n, m int) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			m += len(x)
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	// A name is a string followed by optional space and a colon; strings
	// never hold a raw quote, so scanning string by string finds them.
	inString, escaped := false, false
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
			j := i + 1
			for j < len(doc) && (doc[j] == ' ' || doc[j] == '\t' || doc[j] == '\n' || doc[j] == '\r') {
				j++
			}
			if j < len(doc) && doc[j] == ':' {
				n++
			}
		case !inString && c == '"':
			inString = true
		}
	}
	return n, m
}
