package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// TestParseAcceptedForms: every form users really have parses, and Bytes
// gives back the file for a plain key and the key object for a wrapped one.
func TestParseAcceptedForms(t *testing.T) {
	key := secretKey(t)
	indented := bytes.ReplaceAll(key, []byte("\n"), []byte("\n  "))
	preamble := "Getting key calmkey-key for service instance calmkey-api as admin@example.com...\n\n"
	tests := []struct {
		name      string
		file      []byte
		wantBytes []byte
	}{
		{"cockpit download", key, key},
		{"trailing newline", append(bytes.Clone(key), '\n'), append(bytes.Clone(key), '\n')},
		{"UTF-8 BOM", append([]byte("\xEF\xBB\xBF"), key...), append([]byte("\xEF\xBB\xBF"), key...)},
		{"CRLF line ends", crlf(key), crlf(key)},
		{"surrounding whitespace", []byte("\n\t  " + string(key) + " \n\n"), []byte("\n\t  " + string(key) + " \n\n")},
		{"BOM, CRLF and whitespace", append([]byte("\xEF\xBB\xBF\r\n"), crlf(append(bytes.Clone(key), '\n'))...), append([]byte("\xEF\xBB\xBF\r\n"), crlf(append(bytes.Clone(key), '\n'))...)},
		{"compact one line", compact(t, key), compact(t, key)},
		{"cf preamble", []byte(preamble + string(key) + "\n"), key},
		{"cf preamble CRLF", crlf([]byte(preamble + string(key) + "\n")), crlf(key)},
		{"cf preamble with OK line", []byte("Getting key k for service instance i as u...\nOK\n\n" + string(key) + "\n"), key},
		{"cf v8 credentials", []byte("{\n  \"credentials\": " + string(indented) + "\n}\n"), indented},
		{"cf v8 credentials compact", []byte(`{"credentials":` + string(compact(t, key)) + `}`), compact(t, key)},
		{"cf preamble and v8 credentials", []byte(preamble + "{\n  \"credentials\": " + string(indented) + "\n}\n"), indented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustParse(t, tt.file)
			if !bytes.Equal(k.Bytes(), tt.wantBytes) {
				t.Errorf("Bytes differ:\n got %q\nwant %q", head(k.Bytes()), head(tt.wantBytes))
			}
			if k.Tenant != testkeys.Tenant || k.ClientID != testkeys.ClientID || k.ClientSecret() != testkeys.Secret {
				t.Errorf("fields: tenant %q client %q, secret right: %t", k.Tenant, k.ClientID, k.ClientSecret() == testkeys.Secret)
			}
			if k.CredentialType != BindingSecret || !k.Declared {
				t.Errorf("type %q declared %t", k.CredentialType, k.Declared)
			}
			if len(k.Warnings) != 0 {
				t.Errorf("unexpected warnings: %v", k.Warnings)
			}
		})
	}
}

func compact(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func head(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}

// TestParseBytesIsACopy: the key must not change when the caller reuses
// its buffer.
func TestParseBytesIsACopy(t *testing.T) {
	buf := secretKey(t)
	want := bytes.Clone(buf)
	k := mustParse(t, buf)
	for i := range buf {
		buf[i] = 'x'
	}
	if !bytes.Equal(k.Bytes(), want) || k.ClientSecret() != testkeys.Secret {
		t.Fatal("the parsed key changed with the caller's buffer")
	}
	got := k.Bytes()
	got[0] = 'x'
	if !bytes.Equal(k.Bytes(), want) {
		t.Fatal("Bytes returned the key's own buffer")
	}
}

func TestParseFields(t *testing.T) {
	rsaKey, m := x509Key(t, testkeys.RSAPKCS1)
	tests := []struct {
		name string
		file []byte
		want Key
	}{
		{"binding-secret", secretKey(t), Key{
			Tenant: testkeys.Tenant, Region: "eu10", ClientID: testkeys.ClientID, CredentialType: BindingSecret, Declared: true,
			APIEndpoint: "https://eu10.alm.cloud.sap/api", UAAURL: "https://acme-cloudalm.authentication.eu10.hana.ondemand.com",
		}},
		{"instance-secret in us10", testkeys.SecretKey(testkeys.Fields{Type: "instance-secret", Tenant: "beta", APIURL: "https://beta.us10.alm.cloud.sap/api", UAAURL: "https://beta.authentication.us10.hana.ondemand.com/"}), Key{
			Tenant: "beta", Region: "us10", ClientID: testkeys.ClientID, CredentialType: InstanceSecret, Declared: true,
			APIEndpoint: "https://beta.us10.alm.cloud.sap/api", UAAURL: "https://beta.authentication.us10.hana.ondemand.com/",
		}},
		{"x509", rsaKey, Key{
			Tenant: testkeys.Tenant, Region: "eu10", ClientID: testkeys.ClientID, CredentialType: X509, Declared: true,
			APIEndpoint: "https://eu10.alm.cloud.sap/api", UAAURL: "https://acme-cloudalm.authentication.eu10.hana.ondemand.com",
			CertURL: "https://acme-cloudalm.authentication.cert.eu10.hana.ondemand.com", CertExpiry: m.notAfter,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustParse(t, tt.file)
			got := fmt.Sprintf("%+v", *k)
			want := fmt.Sprintf("%+v", tt.want)
			if got != want || !k.CertExpiry.Equal(tt.want.CertExpiry.Truncate(time.Second)) {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
	k := mustParse(t, tests[1].file)
	if got := k.TokenURL(); got != "https://beta.authentication.us10.hana.ondemand.com/oauth/token" {
		t.Errorf("secret TokenURL = %q", got)
	}
	k = mustParse(t, rsaKey)
	if got := k.TokenURL(); got != "https://acme-cloudalm.authentication.cert.eu10.hana.ondemand.com/oauth/token" {
		t.Errorf("x509 TokenURL = %q", got)
	}
	if k.ClientSecret() != "" {
		t.Error("x509 key has a client secret")
	}
}

func TestParseTenantAndRegionFallbacks(t *testing.T) {
	tests := []struct {
		api, uaa, region, tenant string
		dropZone                 bool
	}{
		{"https://eu20.alm.cloud.sap/api", "https://x.authentication.eu10.hana.ondemand.com", "eu20", "", false},
		{"https://t1.jp10.alm.cloud.sap/api", "https://x.authentication.eu10.hana.ondemand.com", "jp10", "", false},
		{"https://localhost:8443/api", "https://x.authentication.ca10.hana.ondemand.com", "ca10", "", false},
		{"https://localhost:8443/api", "https://x.authentication.cert.cn20.hana.ondemand.com", "cn20", "", false},
		{"https://127.0.0.1:8443/api", "https://127.0.0.1:9443", "", "", false},
		{"https://eu11.alm.cloud.sap/api", "https://sub-zone.authentication.eu11.hana.ondemand.com", "eu11", "sub-zone", true},
	}
	for _, tt := range tests {
		file := edit(t, testkeys.SecretKey(testkeys.Fields{APIURL: tt.api, UAAURL: tt.uaa}), func(_, uaa map[string]any) {
			if tt.dropZone {
				delete(uaa, "identityzone")
			}
		})
		k := mustParse(t, file)
		if k.Region != tt.region {
			t.Errorf("%s + %s: region %q, want %q", tt.api, tt.uaa, k.Region, tt.region)
		}
		if tt.tenant != "" && k.Tenant != tt.tenant {
			t.Errorf("tenant %q, want %q", k.Tenant, tt.tenant)
		}
	}
}

func TestParseX509Algorithms(t *testing.T) {
	for _, alg := range []struct {
		name string
		alg  testkeys.Alg
	}{{"PKCS#1", testkeys.RSAPKCS1}, {"PKCS#8", testkeys.RSAPKCS8}, {"EC", testkeys.ECDSA}} {
		t.Run(alg.name, func(t *testing.T) {
			file, m := x509Key(t, alg.alg)
			k := mustParse(t, file)
			cert, err := k.TLSCertificate()
			if err != nil {
				t.Fatal(err)
			}
			if len(cert.Certificate) != 2 || cert.Leaf == nil || cert.PrivateKey == nil {
				t.Fatalf("certificate: %d certs, leaf %v, key %v", len(cert.Certificate), cert.Leaf != nil, cert.PrivateKey != nil)
			}
			if !cert.Leaf.NotAfter.Equal(m.notAfter.Truncate(time.Second)) {
				t.Errorf("leaf NotAfter %v, want %v", cert.Leaf.NotAfter, m.notAfter)
			}
			if !bytes.Equal(k.Bytes(), file) {
				t.Error("Bytes differ from the file")
			}
		})
	}
	if _, err := mustParse(t, secretKey(t)).TLSCertificate(); !errors.Is(err, ErrNotX509) {
		t.Errorf("secret key TLSCertificate: %v", err)
	}
}

// TestParseRules: each rule reported as its own problem at its JSON path.
func TestParseRules(t *testing.T) {
	secret := secretKey(t)
	good, mat := x509Key(t, testkeys.RSAPKCS1)
	expired := newX509(t, time.Now().Add(-time.Hour), testkeys.ECDSA)
	other := newX509(t, time.Now().Add(24*time.Hour), testkeys.ECDSA)
	set := func(base []byte, field string, v any) []byte {
		return edit(t, base, func(root, uaa map[string]any) {
			if obj, name, ok := strings.Cut(field, "."); ok {
				m := root[obj].(map[string]any)
				if v == nil {
					delete(m, name)
				} else {
					m[name] = v
				}
				return
			}
			if v == nil {
				delete(root, field)
			} else {
				root[field] = v
			}
		})
	}
	tests := []struct {
		name, path, msg string
		file            []byte
	}{
		{"empty file", "", "empty", []byte(" \r\n\t")},
		{"BOM only", "", "empty", []byte("\xEF\xBB\xBF")},
		{"not JSON", "", "not valid JSON (error at line 1, column 1)", []byte("clientid=abc")},
		{"broken JSON names the place", "", "line 3", []byte("{\n \"uaa\": {\n  \"clientsecret\": \"x\" \"y\"}}")},
		{"cut off", "", "cut off", secret[:len(secret)/2]},
		{"JSON list", "", "not a JSON object", []byte(`[{"uaa":{}}]`)},
		{"JSON string", "", "not a JSON object", []byte(`"key"`)},
		{"trailing text", "", "unexpected text after the JSON object", append(bytes.Clone(secret), "\nthanks!"...)},
		{"second object", "", "unexpected text after the JSON object", append(bytes.Clone(secret), secret...)},
		{"cf preamble only", "", "no JSON object", []byte("Getting key k for service instance i as u...\n\nFAILED\n")},
		{"cf preamble trailing text", "", "unexpected text", []byte("Getting key k for service instance i as u...\n\n" + string(secret) + "\nFAILED\n")},
		{"uaa missing", "uaa", "missing", set(secret, "uaa", nil)},
		{"uaa not an object", "uaa", "must be a JSON object, not a string", set(secret, "uaa", "x")},
		{"clientid missing", "uaa.clientid", "missing", set(secret, "uaa.clientid", nil)},
		{"clientid empty", "uaa.clientid", "must not be empty", set(secret, "uaa.clientid", " ")},
		{"clientid number", "uaa.clientid", "must be a string, not a number", set(secret, "uaa.clientid", 42)},
		{"url missing", "uaa.url", "missing", set(secret, "uaa.url", nil)},
		{"url http", "uaa.url", "must be an https URL, not http", set(secret, "uaa.url", "http://acme.authentication.eu10.hana.ondemand.com")},
		{"url relative", "uaa.url", "absolute URL with a host", set(secret, "uaa.url", "/oauth/token")},
		{"url no host", "uaa.url", "absolute URL with a host", set(secret, "uaa.url", "https:///path")},
		{"url opaque", "uaa.url", "absolute URL with a host", set(secret, "uaa.url", "https:acme.example")},
		{"url user info", "uaa.url", "user name or password", set(secret, "uaa.url", "https://admin:hunter2@acme.example")},
		{"url not a URL", "uaa.url", "is not a URL", set(secret, "uaa.url", "https://acme.example/%zz")},
		{"url with a space", "uaa.url", "spaces", set(secret, "uaa.url", "https://acme example/")},
		{"url list", "uaa.url", "must be a string, not a list", set(secret, "uaa.url", []string{"https://a"})},
		{"endpoints missing", "endpoints", "missing", set(secret, "endpoints", nil)},
		{"endpoints not an object", "endpoints", "must be a JSON object", set(secret, "endpoints", "https://eu10.alm.cloud.sap/api")},
		{"Api missing", "endpoints.Api", "generic XSUAA key", set(secret, "endpoints.Api", nil)},
		{"Api http", "endpoints.Api", "must be an https URL", set(secret, "endpoints.Api", "http://eu10.alm.cloud.sap/api")},
		{"Api null", "endpoints.Api", "must be a string, not null", set(secret, "endpoints.Api", jsonNull{})},
		{"credential-type unknown", "uaa.credential-type", `"password" is not one of binding-secret, instance-secret or x509`, set(secret, "uaa.credential-type", "password")},
		{"credential-type bool", "uaa.credential-type", "must be a string, not true or false", set(secret, "uaa.credential-type", true)},
		{"identityzone number", "uaa.identityzone", "must be a string", set(secret, "uaa.identityzone", 7)},
		{"clientsecret missing", "uaa.clientsecret", "missing", set(secret, "uaa.clientsecret", nil)},
		{"clientsecret empty", "uaa.clientsecret", "must not be empty", set(secret, "uaa.clientsecret", "")},
		{"clientsecret object", "uaa.clientsecret", "must be a string, not an object", set(secret, "uaa.clientsecret", map[string]any{})},
		{"instance-secret needs clientsecret", "uaa.clientsecret", "missing", set(set(secret, "uaa.credential-type", "instance-secret"), "uaa.clientsecret", nil)},
		{"no type, no secret, no certificate", "uaa.clientsecret", "missing", set(set(secret, "uaa.credential-type", nil), "uaa.clientsecret", nil)},
		{"x509 certificate missing", "uaa.certificate", "missing", set(good, "uaa.certificate", nil)},
		{"x509 certificate not PEM", "uaa.certificate", "holds no PEM certificate", set(good, "uaa.certificate", "MIIB...")},
		{"x509 certificate garbage", "uaa.certificate", "certificate 1 cannot be read", set(good, "uaa.certificate", pemText("CERTIFICATE", "bm90IGEgY2VydGlmaWNhdGU="))},
		{"x509 certificate holds a key", "uaa.certificate", "block 1 is not a certificate", set(good, "uaa.certificate", mat.key)},
		{"x509 key missing", "uaa.key", "missing", set(good, "uaa.key", nil)},
		{"x509 key not PEM", "uaa.key", "holds no PEM private key", set(good, "uaa.key", "MIIE...")},
		{"x509 key encrypted", "uaa.key", "not a PKCS#1, PKCS#8 or EC private key", set(good, "uaa.key", pemText("ENCRYPTED PRIVATE KEY", "bm90IGEga2V5"))},
		{"x509 key garbage", "uaa.key", "cannot be read", set(good, "uaa.key", pemText("RSA PRIVATE KEY", "bm90IGEga2V5"))},
		{"x509 key mismatch", "uaa.key", "does not match the first certificate", set(good, "uaa.key", other.key)},
		{"x509 certurl missing", "uaa.certurl", "missing", set(good, "uaa.certurl", nil)},
		{"x509 certurl http", "uaa.certurl", "https URL", set(good, "uaa.certurl", "http://acme.authentication.cert.eu10.hana.ondemand.com")},
		{"x509 expired", "uaa.certificate", "expired on", testkeys.X509Key(testkeys.Fields{}, expired.chain, expired.key)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse(tt.file)
			if err == nil {
				t.Fatalf("accepted: %v", k)
			}
			fe := formatError(t, err)
			if !hasFinding(fe.Problems, tt.path, tt.msg) {
				t.Errorf("want problem %q containing %q; got:\n%v", tt.path, tt.msg, err)
			}
			for _, secret := range []string{testkeys.Secret, "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Error("the error text holds a secret")
				}
			}
			if tt.path != "" && !strings.Contains(err.Error(), "\n- "+tt.path+": ") {
				t.Errorf("Error() does not list the problem on its own line:\n%s", err)
			}
		})
	}
}

type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func pemText(typ, body string) string {
	return "-----BEGIN " + typ + "-----\n" + body + "\n-----END " + typ + "-----\n"
}

// TestParseAllProblemsAtOnce: the user sees every problem, not the first.
func TestParseAllProblemsAtOnce(t *testing.T) {
	file := edit(t, secretKey(t), func(root, uaa map[string]any) {
		delete(uaa, "clientid")
		delete(uaa, "clientsecret")
		uaa["url"] = "http://acme.example"
		root["endpoints"] = map[string]any{"Api": 5}
	})
	_, err := Parse(file)
	fe := formatError(t, err)
	want := []string{"uaa.clientid", "uaa.clientsecret", "uaa.url", "endpoints.Api"}
	if len(fe.Problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(fe.Problems), len(want), err)
	}
	for _, p := range want {
		if !hasFinding(fe.Problems, p, "") {
			t.Errorf("no problem for %s", p)
		}
	}
	if !strings.HasPrefix(err.Error(), "this is not a valid SAP Cloud ALM service key (4 problems):\n- ") ||
		strings.Count(err.Error(), "\n- ") != 4 {
		t.Errorf("Error():\n%s", err)
	}
}

func TestParseTooLarge(t *testing.T) {
	key := secretKey(t)
	file := append(bytes.Repeat([]byte(" "), MaxFileSize-len(key)+1), key...)
	if _, err := Parse(file); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%d bytes: %v", len(file), err)
	}
	file = file[1:] // exactly MaxFileSize
	if _, err := Parse(file); err != nil {
		t.Fatalf("%d bytes: %v", len(file), err)
	}
}

func TestParseWarnings(t *testing.T) {
	soon := newX509(t, time.Now().Add(10*24*time.Hour), testkeys.ECDSA)
	x509File, _ := x509Key(t, testkeys.ECDSA)
	tests := []struct {
		name, path, msg string
		file            []byte
		wantType        CredentialType
	}{
		{"certificate expires soon", "uaa.certificate", "expires on " + CertExpiry(soon.notAfter, time.Now()).Date() + " (in 10 days)",
			testkeys.X509Key(testkeys.Fields{}, soon.chain, soon.key), X509},
		{"not a Cloud ALM client", "uaa.clientid", `no "sapcloudalm"`,
			testkeys.SecretKey(testkeys.Fields{ClientID: "sb-other!b1|xsuaa!b2"}), BindingSecret},
		{"no credential-type, secret", "uaa.credential-type", "treated as a client-secret key",
			testkeys.SecretKey(testkeys.Fields{Type: "-"}), InstanceSecret},
		{"no credential-type, certificate", "uaa.credential-type", "treated as x509",
			edit(t, x509File, func(_, uaa map[string]any) { delete(uaa, "credential-type") }), X509},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustParse(t, tt.file)
			if !hasFinding(k.Warnings, tt.path, tt.msg) {
				t.Errorf("want warning %s containing %q, got %v", tt.path, tt.msg, k.Warnings)
			}
			if len(k.Warnings) != 1 {
				t.Errorf("%d warnings, want 1: %v", len(k.Warnings), k.Warnings)
			}
			if k.CredentialType != tt.wantType || k.Declared == strings.HasPrefix(tt.name, "no credential-type") {
				t.Errorf("type %q declared %t", k.CredentialType, k.Declared)
			}
		})
	}
}

// TestParseFindingsCarryWarnings: a rejected key still reports the warnings
// seen on the way.
func TestParseFindingsCarryWarnings(t *testing.T) {
	file := testkeys.SecretKey(testkeys.Fields{Type: "-", ClientID: "sb-other"})
	file = edit(t, file, func(_, uaa map[string]any) { delete(uaa, "clientsecret") })
	_, err := Parse(file)
	fe := formatError(t, err)
	if len(fe.Problems) != 1 || len(fe.Warnings) != 2 {
		t.Fatalf("problems %v, warnings %v", fe.Problems, fe.Warnings)
	}
}

// TestParseUnknownFieldsKept: extra members survive in Bytes and JSON.
func TestParseUnknownFieldsKept(t *testing.T) {
	file := edit(t, secretKey(t), func(root, uaa map[string]any) {
		uaa["futureField"] = map[string]any{"n": 1.5e3, "list": []any{true, nil, "é<&>"}}
		root["extra"] = "kept"
	})
	k := mustParse(t, file)
	// JSON(true) keeps the file's spelling; the masked view re-encodes
	// strings but must mean the same.
	js := string(k.JSON(true))
	for _, want := range []string{`"futureField": {`, `"n": 1500`, `"é\u003c\u0026\u003e"`, `"extra": "kept"`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON(true) lacks %s:\n%s", want, js)
		}
	}
	var revealed, masked map[string]any
	if err := json.Unmarshal(k.JSON(true), &revealed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(k.JSON(false), &masked); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(revealed["uaa"].(map[string]any)["futureField"]) != fmt.Sprint(masked["uaa"].(map[string]any)["futureField"]) ||
		masked["extra"] != "kept" {
		t.Errorf("masked JSON lost unknown fields:\n%s", k.JSON(false))
	}
	if !bytes.Contains(k.Bytes(), []byte("futureField")) {
		t.Error("Bytes lost the unknown field")
	}
}
