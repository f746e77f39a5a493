package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/lockfile"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// In-process tests of the second review's findings about the CLI (issue 14).

// slowAnswer gives its text only after wait: a user who answers the
// delete prompt late.
type slowAnswer struct {
	wait time.Duration
	r    io.Reader
}

func (s *slowAnswer) Read(p []byte) (int, error) {
	if s.wait > 0 {
		time.Sleep(s.wait)
		s.wait = 0
	}
	return s.r.Read(p)
}

// TestDeleteSlowAnswer: an answer at the delete prompt that comes after
// longer than --timeout still deletes: the keychain's time starts after the
// answer, so a slow user is not blamed on the keychain.
func TestDeleteSlowAnswer(t *testing.T) {
	mem := vaulttest.NewMemoryBackend()
	e := env{backend: mem, terminal: true, lockDir: t.TempDir(), historyDir: t.TempDir(),
		getenv: func(k string) string { return map[string]string{ServiceEnv: unitService}[k] }}
	if r := runIn(t, e, string(testkeys.SecretKey(testkeys.Fields{})), "upload", "-"); r.code != exitOK {
		t.Fatal(r)
	}
	const timeout = time.Second
	var out, errb bytes.Buffer
	// Sleeping past --timeout ends the clock started before the question
	// on any machine, however fast.
	code := run(context.Background(), []string{"delete", "--timeout", timeout.String()}, &slowAnswer{wait: timeout + timeout/2, r: strings.NewReader("y\n")}, &out, &errb, e)
	if code != exitOK || !strings.Contains(out.String(), "Deleted the service key of tenant "+testkeys.Tenant) {
		t.Errorf("delete answered after --timeout: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if n := keyItems(mem, unitService); n != 0 {
		t.Errorf("%d key items left", n)
	}
}

// holdHistory holds the lock of e's record of last tests, as another
// calmkey stuck while holding it would, until the test ends.
func holdHistory(t *testing.T, e env) {
	t.Helper()
	h, err := almtest.OpenHistory(e.historyDir, unitService)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := lockfile.Open(h.Path() + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fl.Unlock() })
}

// TestHistoryWithinTimeout: with the record of last tests locked by
// another calmkey, test, list and delete wait for it only within their own
// --timeout, say so, and still do their work; delete says that the deleted
// key's last test was left. (The time each took is logged, not asserted.)
func TestHistoryWithinTimeout(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	mem := vaulttest.NewMemoryBackend()
	e := env{backend: mem, rootCAs: srv.RootCAs(), historyDir: t.TempDir(), lockDir: t.TempDir()}
	if r := runIn(t, e, string(srv.SecretKey()), "upload", "-"); r.code != exitOK {
		t.Fatal(r)
	}
	if r := runIn(t, e, "", "test"); r.code != exitOK {
		t.Fatal(r)
	}
	holdHistory(t, e)
	start := time.Now()
	r := runIn(t, e, "", "test", "--timeout", "2s")
	if r.code != exitOK || !strings.Contains(r.stderr, "warning: the result was not kept as the last test") || !strings.Contains(r.stderr, "--timeout 2s ran out waiting for it") {
		t.Errorf("test with the history locked: %v", r)
	}
	t.Logf("test --timeout 2s with the history locked took %v", time.Since(start).Round(time.Millisecond))
	r = runIn(t, e, "", "list", "--timeout", "2s")
	if r.code != exitOK || !strings.Contains(r.stderr, "warning: the last tests cannot be read") || !strings.Contains(r.stderr, "--timeout 2s ran out") || !strings.Contains(r.stdout, "not tested") {
		t.Errorf("list with the history locked: %v", r)
	}
	r = runIn(t, e, "", "delete", "--yes", "--timeout", "2s")
	if r.code != exitOK || !strings.Contains(r.stdout, "Deleted the service key") ||
		!strings.Contains(r.stderr, "warning: the last test of tenant "+testkeys.Tenant+" was not removed with its key") || !strings.Contains(r.stderr, "last-tests-") {
		t.Errorf("delete with the history locked: %v", r)
	}
	if n := keyItems(mem, unitService); n != 0 {
		t.Errorf("%d key items left", n)
	}
}

// TestTimedOutTestRecorded: a logon that runs out of --timeout is still
// kept as the tenant's last test: the logon leaves part of --timeout to the
// record.
func TestTimedOutTestRecorded(t *testing.T) {
	srv := silentTokenServer(t)
	e := env{backend: vaulttest.NewMemoryBackend(), rootCAs: srv.RootCAs(), historyDir: t.TempDir(), lockDir: t.TempDir()}
	if r := runIn(t, e, string(srv.SecretKey()), "upload", "-"); r.code != exitOK {
		t.Fatal(r)
	}
	r := runIn(t, e, "", "test", "--timeout", "3s")
	if r.code != exitNo || !strings.Contains(r.stderr, "did not finish within --timeout 3s") || strings.Contains(r.stderr, "not kept") {
		t.Errorf("test against a token server that never answers: %v", r)
	}
	r = runIn(t, e, "", "list", "--json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Tenants) != 1 || l.Tenants[0].LastTest == nil || l.Tenants[0].LastTest.OK {
		t.Errorf("the timed-out test was not kept as the last: %v (%v)", r, err)
	}
}

// TestReportJSONMatches: test --all --json's object per tenant holds the
// report's fields exactly as test --json writes them (Report.MarshalJSON),
// after "tenant".
func TestReportJSONMatches(t *testing.T) {
	reports := []*almtest.Report{
		{},
		{OK: true, Started: time.Now(), Duration: 1234567 * time.Microsecond, TokenLifetime: 3599999 * time.Millisecond, Scopes: []string{"calm-api.projects.read"},
			Steps: []almtest.Step{{ID: "token", Status: almtest.StatusOK, Duration: 12 * time.Millisecond, HTTPStatus: 200, Detail: "a token"}, {ID: "api", Status: almtest.StatusWarn, HTTPStatus: 403, Detail: "no scope", Hint: "add it"}}},
		{KeyRejected: true, Started: time.Now().UTC(), Steps: []almtest.Step{{ID: "token", Status: almtest.StatusFail}, {ID: "api", Status: almtest.StatusSkipped}}},
	}
	for i, rep := range reports {
		want, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(tenantReport{Tenant: "acme-prod", reportJSON: newReportJSON(rep)})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != `{"tenant":"acme-prod",`+string(want[1:]) {
			t.Errorf("report %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// lookAlikes are names an earlier calmkey stored beside acme-prod that look
// the same in a list (issue 14).
var lookAlikes = []string{" acme-prod", "аcme-prod", "ａcme-prod", "acme prod", "acme\u00a0prod", "acme-pro\u0301d"}

// TestLookAlikeNamesFlagged: keys an earlier calmkey stored under names
// that are not valid tenant names are flagged in list (text and --json)
// and status; the real tenant is not.
func TestLookAlikeNamesFlagged(t *testing.T) {
	ts := newTenants(t, append([]string{"acme-prod"}, lookAlikes...), nil)
	r := runIn(t, ts.e, "", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, "  acme-prod\n") ||
		!strings.Contains(r.stdout, "Warning: the 6 names flagged above are not valid tenant (subdomain) names.") {
		t.Errorf("list: %v", r)
	}
	for _, n := range lookAlikes {
		if !strings.Contains(r.stdout, "  "+vault.Printable(n)+"  (not a valid tenant name: see below)\n") {
			t.Errorf("list does not flag %q:\n%s", n, r.stdout)
		}
	}
	r = runIn(t, ts.e, "", "list", "--json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Tenants) != 7 {
		t.Fatalf("list --json: %v (%v)", r, err)
	}
	for _, tj := range l.Tenants {
		if (tj.Tenant == "acme-prod") != (tj.TenantNameError == "") || (tj.Tenant != "acme-prod" && !strings.Contains(tj.TenantNameError, "not a valid tenant (subdomain) name")) {
			t.Errorf("list --json: %q has tenant_name_error %q", tj.Tenant, tj.TenantNameError)
		}
	}
	for _, n := range append([]string{"acme-prod"}, lookAlikes...) {
		r := runIn(t, ts.e, "", "status", "--tenant", n)
		flagged := strings.Contains(r.stdout, "is not a valid tenant (subdomain) name") && strings.Contains(r.stdout, "may imitate another tenant's name")
		if r.code != exitOK || flagged != (n != "acme-prod") || strings.Contains(r.stdout, "Warning: uaa.identityzone") {
			t.Errorf("status --tenant %q: %v", n, r)
		}
		var st statusJSON
		r = runIn(t, ts.e, "", "status", "--tenant", n, "--json")
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Tenant != n || (st.TenantNameError == "") != (n == "acme-prod") {
			t.Errorf("status --json --tenant %q: %v", n, r)
		}
	}
}

// TestListTimesOneZone: status and list show times in one zone, named
// (vault.FormatTime), never UTC beside local.
func TestListTimesOneZone(t *testing.T) {
	ts := newTenants(t, []string{"acme-dev", "acme-prod"}, nil)
	if r := runIn(t, ts.e, "", "test", "--all"); r.code != exitOK {
		t.Fatal(r)
	}
	r := runIn(t, ts.e, "", "status", "--tenant", "acme-prod", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.UploadedAt == nil || st.CertExpiry == nil {
		t.Fatalf("status --json: %v (%v)", r, err)
	}
	r = runIn(t, ts.e, "", "status", "--tenant", "acme-prod")
	if !strings.Contains(r.stdout, "Uploaded:            "+vault.FormatTime(*st.UploadedAt)+"\n") ||
		!strings.Contains(r.stdout, "Certificate expiry:  "+vault.FormatTime(*st.CertExpiry)+" (in ") {
		t.Errorf("status does not give its times by vault.FormatTime:\n%s", r.stdout)
	}
	r = runIn(t, ts.e, "", "list", "--json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Tenants) != 2 || l.Tenants[0].LastTest == nil {
		t.Fatalf("list --json: %v (%v)", r, err)
	}
	r = runIn(t, ts.e, "", "list")
	if !strings.Contains(r.stdout, ", "+vault.FormatTime(l.Tenants[0].LastTest.At)+"  acme-dev\n") {
		t.Errorf("list does not give the last test's time by vault.FormatTime:\n%s", r.stdout)
	}
}
