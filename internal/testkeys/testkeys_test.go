package testkeys

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestClientChainVerifiesAndMatchesKey(t *testing.T) {
	ca := NewCA(t)
	for _, alg := range []Alg{RSAPKCS1, RSAPKCS8, ECDSA} {
		chain, key := ca.Client(t, "client", time.Now().Add(time.Hour), alg)
		pair, err := tls.X509KeyPair([]byte(chain), []byte(key))
		if err != nil {
			t.Fatalf("alg %d: key does not match certificate: %v", alg, err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("alg %d: chain does not verify: %v", alg, err)
		}
		if n := strings.Count(chain, "BEGIN CERTIFICATE"); n != 2 {
			t.Fatalf("chain has %d certificates, want 2", n)
		}
		if b, _ := pem.Decode([]byte(key)); b == nil {
			t.Fatalf("alg %d: key is not PEM", alg)
		}
	}
}

func TestKeysCarryFields(t *testing.T) {
	var k struct {
		Endpoints map[string]string
		UAA       map[string]string
	}
	if err := json.Unmarshal(SecretKey(Fields{Type: "instance-secret"}), &k); err != nil {
		t.Fatal(err)
	}
	if k.UAA["clientsecret"] != Secret || k.UAA["credential-type"] != "instance-secret" || k.Endpoints["Api"] == "" {
		t.Fatalf("secret key lacks fields: %v", k.UAA["credential-type"])
	}
	k.UAA = nil // Unmarshal would otherwise merge into the old map
	if err := json.Unmarshal(X509Key(Fields{Type: "-"}, "C", "K"), &k); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.UAA["credential-type"]; ok {
		t.Fatal(`Type "-" should leave credential-type out`)
	}
	if k.UAA["certificate"] != "C" || k.UAA["key"] != "K" || !strings.Contains(k.UAA["certurl"], ".cert.") {
		t.Fatal("x509 key lacks certificate, key or certurl")
	}
}
