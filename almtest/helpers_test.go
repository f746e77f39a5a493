package almtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

func parse(t testing.TB, data []byte) *vault.Key {
	t.Helper()
	k, err := vault.Parse(data)
	if err != nil {
		t.Fatalf("test key does not parse: %v", err)
	}
	return k
}

// run logs on against srv's CA with a generous limit.
func run(t testing.TB, srv *fakealm.Server, data []byte) *Report {
	t.Helper()
	return Run(context.Background(), parse(t, data), Options{RootCAs: srv.RootCAs(), Timeout: 20 * time.Second})
}

func step(t testing.TB, r *Report, id string) Step {
	t.Helper()
	if len(r.Steps) != 2 || r.Steps[0].ID != StepToken || r.Steps[1].ID != StepAPI {
		t.Fatalf("steps are not token then api: %+v", r.Steps)
	}
	if id == StepToken {
		return r.Steps[0]
	}
	return r.Steps[1]
}

// want checks a step's status and that detail and hint carry the given
// phrases (case-insensitive); it prints the report on failure.
func want(t testing.TB, r *Report, id string, status Status, detail []string, hint []string) Step {
	t.Helper()
	s := step(t, r, id)
	bad := s.Status != status
	for _, p := range detail {
		bad = bad || !strings.Contains(strings.ToLower(s.Detail), strings.ToLower(p))
	}
	for _, p := range hint {
		bad = bad || !strings.Contains(strings.ToLower(s.Hint), strings.ToLower(p))
	}
	if status == StatusFail && s.Hint == "" {
		bad = true
	}
	if bad {
		t.Fatalf("%s step: want %s with detail %q and hint %q; got\n%s", id, status, detail, hint, r)
	}
	return s
}

// startTLS runs h on loopback with a certificate from ca for hosts.
func startTLS(t testing.TB, ca *testkeys.CA, h http.Handler, cfg func(*tls.Config), hosts ...string) *httptest.Server {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "localhost"}
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerTLS(t, hosts...)}}
	if cfg != nil {
		cfg(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// secretParts are the strings no output may hold: the secret (also as it
// travels in a form), each line of the private key's body, and every token
// the servers issued.
func secretParts(srv *fakealm.Server) []string {
	parts := []string{testkeys.Secret, url.QueryEscape(testkeys.Secret)}
	_, keyPEM := srv.ClientPEM()
	for _, line := range strings.Split(keyPEM, "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			parts = append(parts, line)
		}
	}
	return append(parts, srv.Tokens()...)
}

// renderings are every form a report takes on its way to a user.
func renderings(t testing.TB, r *Report) map[string]string {
	t.Helper()
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	indented, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{
		"String":    r.String(),
		"Verdict":   r.Verdict(),
		"JSON":      string(js),
		"JSON ind.": string(indented),
		"%v":        fmt.Sprintf("%v", r),
		"%+v":       fmt.Sprintf("%+v", r),
		"%#v":       fmt.Sprintf("%#v", r),
		"%v value":  fmt.Sprintf("%v", *r),
		"%+v value": fmt.Sprintf("%+v", *r),
		"%#v value": fmt.Sprintf("%#v", *r),
		"%s":        fmt.Sprintf("[%s]", r),
		"%q":        fmt.Sprintf("%q", r),
	}
	if err := r.Err(); err != nil {
		out["Err"] = err.Error()
		out["Err %+v"] = fmt.Sprintf("%+v", err)
		out["Err %#v"] = fmt.Sprintf("%#v", err)
	}
	for i, s := range r.Steps {
		sj, _ := json.Marshal(s)
		out[fmt.Sprintf("step %d String", i)] = s.String()
		out[fmt.Sprintf("step %d JSON", i)] = string(sj)
		out[fmt.Sprintf("step %d %%+v", i)] = fmt.Sprintf("%+v", s)
	}
	return out
}

// httptestPlain runs a plain-HTTP server and returns its address.
func httptestPlain(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
