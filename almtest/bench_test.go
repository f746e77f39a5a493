package almtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/vault"
)

// The benchmarks run a full logon against the loopback TLS servers, beside
// the least a net/http client can do for the same two requests on fresh
// connections; Run should stay within 1.2x of the baseline.

// benchServer starts the loopback servers and parses a key for them.
func benchServer(b *testing.B, x509 bool) (*fakealm.Server, *vault.Key) {
	srv := fakealm.Start(b, fakealm.Options{})
	data := srv.SecretKey()
	if x509 {
		data = srv.X509Key()
	}
	return srv, parse(b, data)
}

func benchRun(b *testing.B, x509 bool) {
	srv, key := benchServer(b, x509)
	opts := Options{RootCAs: srv.RootCAs()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := Run(ctx, key, opts); !r.OK {
			b.Fatalf("logon failed:\n%s", r)
		}
		srv.Reset()
	}
}

func benchBaseline(b *testing.B, x509 bool) {
	srv, key := benchServer(b, x509)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {key.ClientID}}
	var certs []tls.Certificate
	if x509 {
		c, err := key.TLSCertificate()
		if err != nil {
			b.Fatal(err)
		}
		certs = []tls.Certificate{c}
	} else {
		form.Set("client_secret", key.ClientSecret())
	}
	body := form.Encode()
	apiURL := key.APIEndpoint + ProjectsPath
	b.ReportAllocs()
	for b.Loop() {
		tokTr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.RootCAs(), Certificates: certs}}
		resp, err := (&http.Client{Transport: tokTr}).Post(key.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		tokTr.CloseIdleConnections()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("token: HTTP %d, %v", resp.StatusCode, err)
		}

		apiTr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.RootCAs()}}
		req, _ := http.NewRequest(http.MethodGet, apiURL, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err = (&http.Client{Transport: apiTr}).Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		apiTr.CloseIdleConnections()
		if resp.StatusCode != 200 {
			b.Fatalf("API: HTTP %d", resp.StatusCode)
		}
		srv.Reset()
	}
}

// benchClean is the cleaning a working run does: the token becomes a
// secret, and the scopes are checked against every secret's forms. Run's
// time is mostly TLS handshakes; this is what the cleaning adds to it.
func benchClean(b *testing.B, x509 bool) {
	_, key := benchServer(b, x509)
	const scopes = "uaa.resource calm-api.projects.read calm-api.projects.write"
	token := "fake-" + strings.Repeat("Tok3n", 9)
	b.ReportAllocs()
	for b.Loop() {
		c := newCleaner(key)
		c.addSecret(token)
		if shown, hidden := c.scopes(scopes); len(shown) != 3 || hidden != 0 {
			b.Fatalf("scopes %q, %d hidden", shown, hidden)
		}
	}
}

func BenchmarkCleanRun(b *testing.B)     { benchClean(b, false) }
func BenchmarkCleanRunX509(b *testing.B) { benchClean(b, true) }

func BenchmarkRun(b *testing.B)                 { benchRun(b, false) }
func BenchmarkBaselineNetHTTP(b *testing.B)     { benchBaseline(b, false) }
func BenchmarkRunX509(b *testing.B)             { benchRun(b, true) }
func BenchmarkBaselineNetHTTPX509(b *testing.B) { benchBaseline(b, true) }
