package almtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// TestReportsHoldNoSecret renders reports of every outcome in every form and
// looks for the client secret, the private key and the tokens issued. The
// servers here also echo what they received, as a careless or hostile server
// might, to prove that server text is cleaned before it is shown.
func TestReportsHoldNoSecret(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{KeyAlg: testkeys.ECDSA})
	thief := fakealm.StartSink(t, srv.CA)
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
	setups := []struct {
		name string
		x509 bool
		set  func()
	}{
		{"works", false, func() {}},
		{"works x509", true, func() {}},
		{"api 403", false, func() { srv.SetScopes("uaa.resource") }},
		{"api 401", false, func() { srv.SetAPIStatus(401) }},
		{"api 500", false, func() { srv.SetAPIStatus(500) }},
		{"api redirect", false, func() { srv.SetAPIHandler(http.RedirectHandler(thief.URL, http.StatusFound)) }},
		{"rejected", false, func() { srv.RejectKey(true) }},
		{"rejected x509", true, func() { srv.RejectKey(true) }},
		{"echo 401", false, func() { srv.SetTokenHandler(echo(401)) }},
		{"echo 400", false, func() { srv.SetTokenHandler(echo(400)) }},
		{"echo 500", false, func() { srv.SetTokenHandler(echo(500)) }},
		{"echo 200", false, func() { srv.SetTokenHandler(echo(200)) }},
		{"token redirect", false, func() { srv.SetTokenHandler(http.RedirectHandler(thief.URL, http.StatusFound)) }},
		{"untrusted", false, func() {}},
	}
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
		data := srv.SecretKey()
		if s.x509 {
			data = srv.X509Key()
		}
		roots := srv.RootCAs()
		if s.name == "untrusted" {
			roots = testkeys.NewCA(t).Pool
		}
		r := Run(context.Background(), parse(t, data), Options{RootCAs: roots, Timeout: 10 * time.Second})
		if strings.HasPrefix(s.name, "works") && !r.OK {
			t.Fatalf("%s: the setup is wrong, logon should work:\n%s", s.name, r)
		}
		if strings.HasPrefix(s.name, "echo") && !strings.Contains(r.Steps[0].Detail, "***") && s.name != "echo 200" {
			t.Fatalf("%s: the echoed secret should show as ***: %s", s.name, r.Steps[0].Detail)
		}
		reports = append(reports, r)
	}
	parts := secretParts(srv)
	if len(srv.Tokens()) < 4 {
		t.Fatalf("only %d tokens issued; the setups did not run as meant", len(srv.Tokens()))
	}
	// The search itself must be able to fail: a planted secret is found.
	if !leaks(renderings(t, &Report{Steps: []Step{{ID: StepToken, Detail: "x " + url.QueryEscape(testkeys.Secret)}}}), parts) {
		t.Fatal("the secret search finds nothing even when a secret is there")
	}
	for i, r := range reports {
		if leaks(renderings(t, r), parts) {
			t.Fatalf("%s: a rendering of the report holds a secret", setups[i].name)
		}
	}
}

func leaks(forms map[string]string, parts []string) bool {
	for _, text := range forms {
		for _, p := range parts {
			if p != "" && strings.Contains(text, p) {
				return true
			}
		}
	}
	return false
}
