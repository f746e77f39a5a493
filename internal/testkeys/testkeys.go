// Package testkeys makes throwaway service keys, certificate authorities and
// certificates for tests. Nothing here is a real credential: every key pair is
// generated at run time, so no private key is ever written into the repository.
package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Recognisable defaults, so tests can scan any output for them.
const (
	Tenant   = "acme-cloudalm"
	ClientID = "sb-calmkey-test!b123456|sapcloudalm!b16907"
	// Secret has the characters real secrets have ($, +, =) so that encoding
	// mistakes show.
	Secret = "0a1b2c3d-TEST-SECRET-4e5f$Q2xpZW50+U2VjcmV0="
)

// Alg is the private key's algorithm and PEM encoding.
type Alg int

// The encodings SAP keys come with.
const (
	RSAPKCS1 Alg = iota // "RSA PRIVATE KEY"
	RSAPKCS8            // "PRIVATE KEY" holding RSA
	ECDSA               // "EC PRIVATE KEY" (SEC 1)
)

var serial atomic.Int64

// CA is a throwaway certificate authority.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	Pool    *x509.CertPool
	key     crypto.Signer
}

// NewCA makes a CA valid for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: "calmkey test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, CertPEM: pemBlock("CERTIFICATE", der), Pool: pool, key: key}
}

// ServerTLS issues a server certificate for hosts (names or IP addresses).
func (ca *CA) ServerTLS(t testing.TB, hosts ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key}
}

// Client issues a client certificate for cn, valid from an hour ago until
// notAfter, and returns the chain (client certificate, then the CA) and the
// private key as PEM, as an x509 service key carries them.
func (ca *CA) Client(t testing.TB, cn string, notAfter time.Time, alg Alg) (chainPEM, keyPEM string) {
	t.Helper()
	key, keyPEMBytes := newKey(t, alg)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn, OrganizationalUnit: []string{"SAP Cloud Platform Clients"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	chain := append(pemBlock("CERTIFICATE", der), ca.CertPEM...)
	return string(chain), string(keyPEMBytes)
}

// rsaKey is made once: RSA generation is slow and tests need many keys.
var rsaKey *rsa.PrivateKey

func newKey(t testing.TB, alg Alg) (crypto.Signer, []byte) {
	t.Helper()
	switch alg {
	case ECDSA:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, pemBlock("EC PRIVATE KEY", der)
	default:
		k := RSAKey(t)
		if alg == RSAPKCS8 {
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			return k, pemBlock("PRIVATE KEY", der)
		}
		return k, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
	}
}

// RSAKey returns a 2048-bit RSA key, the same one for the whole test binary.
func RSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	if rsaKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaKey = k
	}
	return rsaKey
}

// OtherKeyPEM returns a private key that matches no certificate from Client.
func OtherKeyPEM(t testing.TB) string {
	t.Helper()
	_, p := newKey(t, ECDSA)
	return string(p)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// Fields shape a key. Zero values take the defaults of a key for tenant
// acme-cloudalm in eu10.
type Fields struct {
	Tenant   string
	ClientID string
	Secret   string // secret kinds only
	UAAURL   string
	CertURL  string // x509 only
	APIURL   string
	Type     string // uaa.credential-type; "-" leaves it out
}

func (f Fields) withDefaults(typ, certURL string) Fields {
	if f.Tenant == "" {
		f.Tenant = Tenant
	}
	if f.ClientID == "" {
		f.ClientID = ClientID
	}
	if f.Secret == "" {
		f.Secret = Secret
	}
	if f.UAAURL == "" {
		f.UAAURL = "https://" + f.Tenant + ".authentication.eu10.hana.ondemand.com"
	}
	if f.CertURL == "" {
		f.CertURL = certURL
		if f.CertURL == "" {
			f.CertURL = "https://" + f.Tenant + ".authentication.cert.eu10.hana.ondemand.com"
		}
	}
	if f.APIURL == "" {
		f.APIURL = "https://eu10.alm.cloud.sap/api"
	}
	if f.Type == "" {
		f.Type = typ
	}
	return f
}

func (f Fields) uaa() map[string]any {
	u := map[string]any{
		"clientid":          f.ClientID,
		"url":               f.UAAURL,
		"identityzone":      f.Tenant,
		"identityzoneid":    "6f1c2d3e-0000-4000-8000-000000000001",
		"tenantid":          "6f1c2d3e-0000-4000-8000-000000000001",
		"tenantmode":        "shared",
		"sburl":             "https://internal-xsuaa.authentication.eu10.hana.ondemand.com",
		"apiurl":            "https://api.authentication.eu10.hana.ondemand.com",
		"xsappname":         "calmkey-test!b123456|sapcloudalm!b16907",
		"subaccountid":      "0b5e0000-0000-4000-8000-000000000002",
		"zoneid":            "6f1c2d3e-0000-4000-8000-000000000001",
		"uaadomain":         uaaDomain(f.UAAURL),
		"serviceInstanceId": "9a8b0000-0000-4000-8000-000000000003",
	}
	if f.Type != "-" {
		u["credential-type"] = f.Type
	}
	return u
}

// uaaDomain is what the cockpit writes as uaa.uaadomain: the url's host from
// "authentication." on; for a URL of another shape (a loopback test server),
// eu10's.
func uaaDomain(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if i := strings.Index(u.Hostname(), "authentication."); i > 0 {
			return u.Hostname()[i:]
		}
	}
	return "authentication.eu10.hana.ondemand.com"
}

func marshal(uaa map[string]any, api string) []byte {
	b, err := json.MarshalIndent(map[string]any{
		"endpoints": map[string]any{"Api": api},
		"uaa":       uaa,
	}, "", "  ")
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// SecretKey returns the JSON of a client-secret key (binding-secret unless
// f.Type says otherwise), as the BTP cockpit's Download gives it.
func SecretKey(f Fields) []byte {
	f = f.withDefaults("binding-secret", "")
	u := f.uaa()
	u["clientsecret"] = f.Secret
	return marshal(u, f.APIURL)
}

// X509Key returns the JSON of an x509 key carrying chainPEM and keyPEM (from
// CA.Client).
func X509Key(f Fields, chainPEM, keyPEM string) []byte {
	f = f.withDefaults("x509", "")
	u := f.uaa()
	u["certificate"] = chainPEM
	u["key"] = keyPEM
	u["certurl"] = f.CertURL
	return marshal(u, f.APIURL)
}
