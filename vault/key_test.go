package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// TestKeyNeverPrintsSecrets: every fmt verb, on a Key, a *Key, a Stored and
// structs that hold a Key where fmt cannot call its methods.
func TestKeyNeverPrintsSecrets(t *testing.T) {
	x509File, _ := x509Key(t, testkeys.RSAPKCS1)
	for name, file := range map[string][]byte{"secret": secretKey(t), "x509": x509File} {
		t.Run(name, func(t *testing.T) {
			k := mustParse(t, file)
			parts := secretParts(k)
			if len(parts) == 0 {
				t.Fatal("no secret material to look for")
			}
			type holder struct {
				key  Key
				ptr  *Key
				list []*Key
			}
			values := map[string]any{
				"Key": *k, "*Key": k, "Stored": Stored{Key: k, FileName: "k.txt"}, "*Stored": &Stored{Key: k},
				"holder": holder{key: *k, ptr: k, list: []*Key{k}}, "[]Key": []Key{*k}, "map": map[string]*Key{"k": k},
			}
			for vname, v := range values {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
					assertNoSecret(t, vname+" "+verb, fmt.Sprintf(verb, v), parts)
				}
			}
			assertNoSecret(t, "String", k.String(), parts)
			assertNoSecret(t, "GoString", k.GoString(), parts)
			j, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecret(t, "json.Marshal", string(j), parts)
			assertNoSecret(t, "JSON(false)", string(k.JSON(false)), parts)
			if !strings.Contains(fmt.Sprint(k), testkeys.Tenant) || !strings.Contains(fmt.Sprintf("%#v", k), testkeys.ClientID) {
				t.Errorf("formatting lost the safe fields: %v / %#v", k, k)
			}
			revealed := string(k.JSON(true))
			for _, p := range parts {
				if !strings.Contains(revealed, strings.ReplaceAll(p, "+", `+`)) {
					t.Error("JSON(true) does not reveal the secret material")
				}
			}
		})
	}
	var nilKey *Key
	if got := fmt.Sprint(nilKey); got != "<nil>" {
		t.Errorf("nil key prints %q", got)
	}
}

func TestKeyJSONMasked(t *testing.T) {
	k := mustParse(t, secretKey(t))
	var masked map[string]map[string]any
	if err := json.Unmarshal(k.JSON(false), &masked); err != nil {
		t.Fatalf("masked JSON is not JSON: %v", err)
	}
	if got, want := masked["uaa"]["clientsecret"], Mask(testkeys.Secret); got != want || want != testkeys.Secret[:3]+"***" {
		t.Errorf("clientsecret shows %q, want %q", got, want)
	}
	if masked["uaa"]["clientid"] != testkeys.ClientID {
		t.Errorf("clientid changed: %v", masked["uaa"]["clientid"])
	}
	if !strings.HasPrefix(string(k.JSON(false)), "{\n  \"endpoints\": {\n    \"Api\"") {
		t.Errorf("not indented by two spaces in file order:\n%s", k.JSON(false))
	}

	x509File, _ := x509Key(t, testkeys.ECDSA)
	k = mustParse(t, x509File)
	masked = nil
	if err := json.Unmarshal(k.JSON(false), &masked); err != nil {
		t.Fatal(err)
	}
	if got := masked["uaa"]["key"]; got != "---***" {
		t.Errorf("key shows %q", got)
	}
	if cert, _ := masked["uaa"]["certificate"].(string); !strings.Contains(cert, "BEGIN CERTIFICATE") {
		t.Error("the certificate, which is public, is masked")
	}

	// A secret-named member elsewhere is not the key's secret: left alone.
	file := edit(t, secretKey(t), func(root, _ map[string]any) {
		root["other"] = map[string]any{"clientsecret": "public-value"}
	})
	if !strings.Contains(string(mustParse(t, file).JSON(false)), "public-value") {
		t.Error("masked a member outside uaa")
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"": "***", "short": "***", "0123456789ab": "012***", testkeys.Secret: "0a1***"} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%d bytes) = %q, want %q", len(in), got, want)
		}
	}
}

func TestKeyZeroValue(t *testing.T) {
	var k Key
	if k.Bytes() != nil || k.ClientSecret() != "" || k.JSON(true) != nil {
		t.Error("zero Key returns data")
	}
	if _, err := k.TLSCertificate(); !errors.Is(err, ErrNotX509) {
		t.Errorf("zero Key TLSCertificate: %v", err)
	}
}

func TestCredentialTypeText(t *testing.T) {
	for _, tc := range []struct {
		k    Key
		want string
	}{
		{Key{CredentialType: X509, Declared: true}, "x509"},
		{Key{CredentialType: InstanceSecret}, "instance-secret (inferred: the key does not declare uaa.credential-type)"},
		{Key{}, "unknown type"},
	} {
		if got := tc.k.CredentialTypeText(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.k, got, tc.want)
		}
	}
	if got := CredentialTypeText(X509, true); got != "x509" {
		t.Errorf("declared: %q", got)
	}
	// A parsed key without credential-type is inferred and says so.
	k, err := Parse(testkeys.SecretKey(testkeys.Fields{Type: "-"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := k.CredentialTypeText(); !strings.Contains(got, "inferred") {
		t.Errorf("a key without credential-type reads %q", got)
	}
}
