package vault

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// setField sets root[obj][name] (or root[name]) of a key file.
func setField(t *testing.T, base []byte, field string, v any) []byte {
	t.Helper()
	return edit(t, base, func(root, _ map[string]any) {
		if obj, name, ok := strings.Cut(field, "."); ok {
			root[obj].(map[string]any)[name] = v
			return
		}
		root[field] = v
	})
}

// TestParseURLsReadAsTheyAct: a URL that would be shown as one host and
// used as another is refused, in every URL the app shows or uses, and the
// problem never quotes the URL.
func TestParseURLsReadAsTheyAct(t *testing.T) {
	secret := secretKey(t)
	x509File, _ := x509Key(t, testkeys.ECDSA)
	const sap = "acme.authentication.eu10.hana.ondemand.com"
	bad := []struct{ name, url, msg string }{
		{"fragment", "https://127.0.0.1:37099#@" + sap, "fragment"},
		{"empty fragment", "https://" + sap + "#", "fragment"},
		{"query", "https://127.0.0.1:37099?x=@" + sap, "query"},
		{"empty query", "https://" + sap + "/?", "query"},
		{"user info", "https://" + sap + "@127.0.0.1", "user name or password"},
		{"user info, no password", "https://me@" + sap, "user name or password"},
		{"backslash", "https://127.0.0.1\\." + sap, "backslashes"},
		{"control character", "https://" + sap + "/\x1b[2J", "U+001B"},
		{"bidi override", "https://\u202e" + sap, "U+202E"},
		{"zero-width space", "https://acme\u200b.authentication.eu10.hana.ondemand.com", "U+200B"},
	}
	for _, field := range []struct {
		path string
		base []byte
	}{{"uaa.url", secret}, {"uaa.certurl", x509File}, {"endpoints.Api", secret}} {
		for _, tt := range bad {
			t.Run(field.path+" "+tt.name, func(t *testing.T) {
				_, err := Parse(setField(t, field.base, field.path, tt.url))
				fe := formatError(t, err)
				if !hasFinding(fe.Problems, field.path, tt.msg) {
					t.Errorf("want a problem at %s containing %q, got %v", field.path, tt.msg, fe.Problems)
				}
				if strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), sap) {
					t.Errorf("the problem quotes the URL: %v", err)
				}
			})
		}
	}
}

// TestParseDuplicateMembers: a member given twice anywhere, under any
// spelling, is refused with its path; the second value is not quoted.
func TestParseDuplicateMembers(t *testing.T) {
	key := string(secretKey(t))
	withUAA := func(extra string) []byte {
		return []byte(strings.Replace(key, `"uaa": {`, `"uaa": {`+extra, 1))
	}
	tests := []struct {
		name, path string
		file       []byte
	}{
		{"url, then u\\u0072l", "uaa.url", withUAA(`"u\u0072l": "https://evil.example",`)},
		{"escaped first, plain second", "uaa.url", []byte(strings.Replace(key, `"url":`, `"\u0075rl": "https://evil.example", "url":`, 1))},
		{"clientsecret twice", "uaa.clientsecret", withUAA(`"clientsecret": "another-secret-value-1234",`)},
		{"uaa twice", "uaa", []byte(strings.Replace(key, `"endpoints":`, `"uaa": {}, "endpoints":`, 1))},
		{"Api twice", "endpoints.Api", []byte(strings.Replace(key, `"Api":`, `"Api": "https://evil.example/api", "Api":`, 1))},
		{"deep in an unknown member", "uaa.extra[1].a", withUAA(`"extra": [{"a": 1}, {"a": 1, "b": 2, "a": 3}],`)},
		{"in the cf v8 wrapper", "credentials.uaa.url", []byte(`{"credentials": ` + string(withUAA(`"u\u0072l": "https://evil.example",`)) + `}`)},
		{"a name with a control character", `uaa.\x1b[31m`, withUAA(`"\u001b[31m": 1, "\u001b[31m": 2,`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid(tt.file) {
				t.Fatal("test file is not JSON")
			}
			_, err := Parse(tt.file)
			fe := formatError(t, err)
			if !hasFinding(fe.Problems, tt.path, "appears more than once") {
				t.Errorf("want a duplicate problem at %q, got %v", tt.path, fe.Problems)
			}
			for _, leak := range []string{"evil.example", "another-secret-value", "\x1b"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the problem quotes the file: %q", err)
				}
			}
		})
	}
	// Equal names in different objects are no duplicates.
	mustParse(t, withUAA(`"extra": {"url": 1, "clientid": 2},`))
}

// TestParseInvisibleCharacters: every field that is shown refuses
// characters that are not shown as themselves.
func TestParseInvisibleCharacters(t *testing.T) {
	secret := secretKey(t)
	for _, tt := range []struct{ path, value, code string }{
		{"uaa.identityzone", "acme\x1b]0;owned\x07", "U+001B"},
		{"uaa.identityzone", "acme\u202eenilno", "U+202E"},
		{"uaa.clientid", "sb-calmkey\u200d!b1|sapcloudalm!b2", "U+200D"},
		{"uaa.clientid", "sb-calmkey\n!b1|sapcloudalm!b2", "U+000A"},
		{"uaa.clientid", "sb-calmkey\u0085|sapcloudalm", "U+0085"},
		{"uaa.credential-type", "binding-secret\u2028", "U+2028"},
		{"uaa.identityzone", "acme\ue000", "U+E000"},
	} {
		t.Run(tt.path+" "+tt.code, func(t *testing.T) {
			_, err := Parse(setField(t, secret, tt.path, tt.value))
			fe := formatError(t, err)
			if !hasFinding(fe.Problems, tt.path, tt.code) {
				t.Errorf("want a problem at %s naming %s, got %v", tt.path, tt.code, fe.Problems)
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07\u202e\u200d\u2028\u0085\ue000") {
				t.Errorf("the problem holds the character itself: %q", err)
			}
		})
	}
	// Letters of any script are shown as themselves: a stored key's name
	// may hold them (TestParseLookAlikeTenants has the format check refuse
	// them in a tenant name now).
	k := parseAnyName(t, setField(t, secret, "uaa.identityzone", "mandant-münchen-東京"))
	if k.Tenant != "mandant-münchen-東京" {
		t.Errorf("tenant %q", k.Tenant)
	}
}

// TestParseHostWarnings: hosts that do not belong together, or do not look
// like SAP's, are accepted with a warning (the loopback test servers have
// them), each derived from the key itself.
func TestParseHostWarnings(t *testing.T) {
	x509File, _ := x509Key(t, testkeys.ECDSA)
	secret := func(f testkeys.Fields) []byte { return testkeys.SecretKey(f) }
	tests := []struct {
		name  string
		file  []byte
		path  string
		msg   string
		count int // warnings in all
	}{
		{"IP literal", secret(testkeys.Fields{APIURL: "https://10.0.0.1/api"}), "endpoints.Api", "IP address", 2}, // and not in eu10
		{"IPv6 literal", secret(testkeys.Fields{APIURL: "https://[::1]/api"}), "endpoints.Api", "IP address", 2},
		{"port", secret(testkeys.Fields{APIURL: "https://eu10.alm.cloud.sap:8443/api"}), "endpoints.Api", "port other than 443", 1},
		{"port 443 is fine", secret(testkeys.Fields{APIURL: "https://eu10.alm.cloud.sap:443/api"}), "", "", 0},
		{"url not under uaadomain", setField(t, secret(testkeys.Fields{}), "uaa.uaadomain", "authentication.us10.hana.ondemand.com"), "uaa.url", "not a host under uaa.uaadomain", 1},
		{"url imitating uaadomain", setField(t, secret(testkeys.Fields{UAAURL: "https://acme.authentication.eu10.hana.ondemand.com.evil.example"}),
			"uaa.uaadomain", "authentication.eu10.hana.ondemand.com"), "uaa.url", "not a host under uaa.uaadomain", 1},
		{"uaadomain missing", edit(t, secret(testkeys.Fields{}), func(_, uaa map[string]any) { delete(uaa, "uaadomain") }), "uaa.uaadomain", "missing", 1},
		{"certurl elsewhere", setField(t, x509File, "uaa.certurl", "https://acme.authentication.cert.eu10.evil.example"), "uaa.certurl", `"authentication.cert."`, 1},
		{"certurl is the url", setField(t, x509File, "uaa.certurl", "https://"+testkeys.Tenant+".authentication.eu10.hana.ondemand.com"), "uaa.certurl", `"authentication.cert."`, 1},
		{"API in another region", secret(testkeys.Fields{APIURL: "https://us10.alm.cloud.sap/api"}), "endpoints.Api", "region", 1},
		{"API with tenant in the region", secret(testkeys.Fields{APIURL: "https://acme.eu10.alm.cloud.sap/api"}), "", "", 0},
		{"punycode", secret(testkeys.Fields{APIURL: "https://xn--e1awd7f.eu10.alm.cloud.sap/api"}), "endpoints.Api", "internationalized", 1},
		{"mixed scripts", secret(testkeys.Fields{APIURL: "https://\u0430cme.eu10.alm.cloud.sap/api"}), "endpoints.Api", "mixes scripts", 1},
		{"mixed scripts in punycode", secret(testkeys.Fields{APIURL: "https://xn--cme-8cd.eu10.alm.cloud.sap/api"}), "endpoints.Api", "mixes scripts", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustParse(t, tt.file)
			if tt.count > 0 && !hasFinding(k.Warnings, tt.path, tt.msg) {
				t.Errorf("want a warning at %s containing %q, got %v", tt.path, tt.msg, k.Warnings)
			}
			if len(k.Warnings) != tt.count {
				t.Errorf("%d warnings, want %d: %v", len(k.Warnings), tt.count, k.Warnings)
			}
			for _, w := range k.Warnings {
				if strings.Contains(w.Message, "alm.cloud.sap") || strings.Contains(w.Message, "evil") || strings.Contains(w.Message, "10.0.0.1") {
					t.Errorf("the warning quotes the file: %v", w)
				}
			}
		})
	}
	// A key for the loopback test servers (IP, ports, hosts that are not
	// SAP's) is accepted, with every one of those warnings.
	m := newX509(t, time.Now().Add(90*24*time.Hour), testkeys.ECDSA)
	k := mustParse(t, testkeys.X509Key(testkeys.Fields{UAAURL: "https://127.0.0.1:40001", CertURL: "https://127.0.0.1:40002", APIURL: "https://127.0.0.1:40003/api"}, m.chain, m.key))
	for _, want := range []struct{ path, msg string }{
		{"uaa.url", "IP address"}, {"uaa.url", "port"}, {"uaa.certurl", "IP address"}, {"endpoints.Api", "port"},
		{"uaa.url", "uaa.uaadomain"}, {"uaa.certurl", "authentication.cert."},
	} {
		if !hasFinding(k.Warnings, want.path, want.msg) {
			t.Errorf("loopback key: no warning at %s containing %q in %v", want.path, want.msg, k.Warnings)
		}
	}
}

// TestKeyJSONMasksAnyType: whatever a secret field holds, the masked view
// shows none of it.
func TestKeyJSONMasksAnyType(t *testing.T) {
	x509File, _ := x509Key(t, testkeys.ECDSA)
	const hidden = "hidden-value-6f1c2d3e"
	tests := []struct {
		name string
		file []byte
	}{
		{"clientsecret object on an x509 key", setField(t, x509File, "uaa.clientsecret", map[string]any{"value": hidden, "list": []any{hidden, 1}})},
		{"clientsecret list on an x509 key", setField(t, x509File, "uaa.clientsecret", []any{hidden, map[string]any{"n": hidden}})},
		{"clientsecret number on an x509 key", setField(t, x509File, "uaa.clientsecret", 6.1123456789e+20)},
		{"clientsecret true on an x509 key", setField(t, x509File, "uaa.clientsecret", true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustParse(t, tt.file)
			masked := string(k.JSON(false))
			for _, leak := range []string{hidden, "6112345678", "611234567890000000000", "6.1123456789e+20", "true", "BEGIN EC PRIVATE KEY"} {
				if strings.Contains(masked, leak) {
					t.Errorf("masked JSON shows %q:\n%s", leak, masked)
				}
			}
			var doc struct {
				UAA map[string]any `json:"uaa"`
			}
			if err := json.Unmarshal([]byte(masked), &doc); err != nil {
				t.Fatalf("masked JSON does not decode: %v", err)
			}
			if doc.UAA["clientsecret"] != "***" {
				t.Errorf("clientsecret shown as %v, want \"***\"", doc.UAA["clientsecret"])
			}
			if !strings.Contains(string(k.JSON(true)), "clientsecret") {
				t.Error("the revealed JSON lost the member")
			}
		})
	}
	// uaa.key as an object on a secret key (x509 needs a PEM key).
	file := setField(t, secretKey(t), "uaa.key", map[string]any{"d": hidden, "n": []any{hidden}})
	k := mustParse(t, file)
	if masked := string(k.JSON(false)); strings.Contains(masked, hidden) || !strings.Contains(masked, `"key": "***"`) {
		t.Errorf("uaa.key object not masked:\n%s", masked)
	}
}
