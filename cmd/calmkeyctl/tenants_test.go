package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/earlierkey"
	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// In-process tests of several tenants: --tenant on every key command,
// list, test --all, against loopback servers.

// tenantSetup is a keychain with keys of several tenants: those in good log
// on to one set of loopback servers, those in bad to another that rejects
// them.
type tenantSetup struct {
	e         env
	mem       *vaulttest.MemoryBackend
	good, bad *fakealm.Server
	files     map[string][]byte
}

func newTenants(t *testing.T, good, bad []string) *tenantSetup {
	t.Helper()
	ts := &tenantSetup{mem: vaulttest.NewMemoryBackend(), files: map[string][]byte{}}
	ts.good = fakealm.Start(t, fakealm.Options{})
	ts.bad = fakealm.Start(t, fakealm.Options{})
	ts.bad.RejectKey(true)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ts.good.CA.CertPEM)
	pool.AppendCertsFromPEM(ts.bad.CA.CertPEM)
	ts.e = env{backend: ts.mem, rootCAs: pool, historyDir: t.TempDir(), lockDir: t.TempDir()}
	for i, tenant := range slices.Concat(good, bad) {
		srv := ts.good
		if i >= len(good) {
			srv = ts.bad
		}
		key := srv.SecretKeyWith(testkeys.Fields{Tenant: tenant})
		if i%2 == 1 {
			key = srv.X509KeyWith(testkeys.Fields{Tenant: tenant})
		}
		ts.files[tenant] = key
		if vault.TenantNameError(tenant) != nil {
			// Refused now; stored as an earlier calmkey did, it must work.
			if r := runIn(t, ts.e, string(key), "upload", "-"); r.code != exitNo || !strings.Contains(r.stderr, "uaa.identityzone: is not a valid tenant (subdomain) name") {
				t.Fatalf("upload of %q: %v; want it refused", tenant, r)
			}
			if got := earlierkey.Store(t, ts.mem, unitService, ts.e.lockDir, key, ""); got != tenant {
				t.Fatalf("stored %q as %q", tenant, got)
			}
			continue
		}
		if r := runIn(t, ts.e, string(key), "upload", "-"); r.code != exitOK || !strings.Contains(r.stdout, vault.Printable(tenant)) {
			t.Fatalf("upload of %q: %v", tenant, r)
		}
	}
	return ts
}

// lines are the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestTenantRequired: with several tenants stored and none named, every
// key command exits 2 and lists the tenants, touching nothing; a named
// tenant works; an unknown one is exit 1 pointing at list.
func TestTenantRequired(t *testing.T) {
	ts := newTenants(t, []string{"acme-dev", "acme-prod"}, []string{"acme-test"})
	before := ts.mem.Items(unitService)
	for _, args := range [][]string{{"status"}, {"show"}, {"download", "-"}, {"delete", "--yes"}, {"test"}} {
		r := runIn(t, ts.e, "", args...)
		if r.code != exitUsage || r.stdout != "" {
			t.Errorf("%q with 3 tenants: %v; want exit 2", args, r)
			continue
		}
		if !strings.Contains(r.stderr, "3 tenants have a service key; name one with --tenant NAME:\n  acme-dev\n  acme-prod\n  acme-test\n") {
			t.Errorf("%q does not list the tenants: %q", args, r.stderr)
		}
	}
	if !maps.Equal(ts.mem.Items(unitService), before) {
		t.Error("a command without --tenant changed the keychain")
	}
	for _, args := range [][]string{{"status", "--json"}, {"test", "--json"}} {
		r := runIn(t, ts.e, "", args...)
		var out struct {
			ErrorCode string   `json:"error_code"`
			Tenants   []string `json:"tenants"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != exitUsage || out.ErrorCode != "tenant_required" || len(out.Tenants) != 3 {
			t.Errorf("%q: %v (%v)", args, r, err)
		}
	}
	r := runIn(t, ts.e, "", "status", "--tenant", "acme-prod")
	if r.code != exitOK || !strings.Contains(r.stdout, "tenant acme-prod") || !strings.Contains(r.stdout, "x509") {
		t.Errorf("status --tenant acme-prod: %v", r)
	}
	r = runIn(t, ts.e, "", "download", "-", "--tenant", "acme-dev")
	if r.code != exitOK || r.stdout != string(ts.files["acme-dev"]) {
		t.Errorf("download - --tenant acme-dev: exit %d, %d bytes", r.code, len(r.stdout))
	}
	r = runIn(t, ts.e, "", "show", "--tenant=acme-test")
	if r.code != exitOK || !strings.Contains(r.stdout, `"identityzone": "acme-test"`) {
		t.Errorf("show --tenant=acme-test: %v", r)
	}
	r = runIn(t, ts.e, "", "status", "--tenant", "acme-qa")
	if r.code != exitNo || !strings.Contains(r.stderr, "no service key is stored for tenant acme-qa") || !strings.Contains(r.stderr, "calmkeyctl list") {
		t.Errorf("status of an unknown tenant: %v", r)
	}
	// A second key for a tenant is refused, naming it and what to do.
	r = runIn(t, ts.e, string(ts.good.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev", ClientID: "sb-2nd!b1|sapcloudalm!b2"})), "upload", "-")
	if r.code != exitNo || !strings.Contains(r.stderr, "tenant acme-dev already has a service key: delete it first ('calmkeyctl delete --tenant acme-dev'), then upload the new key; or swap it in with no gap: 'calmkeyctl replace FILE'") {
		t.Errorf("a second key for acme-dev: %v", r)
	}
	if !maps.Equal(ts.mem.Items(unitService), before) {
		t.Error("the refused upload changed the keychain")
	}
	if r := runIn(t, ts.e, "", "test", "--all", "--tenant", "acme-dev"); r.code != exitUsage {
		t.Errorf("test --all --tenant: %v", r)
	}
}

// TestListAndTestAll: list shows every tenant, test --all tests them all
// (good and rejected), prints a line each in name order and a summary,
// exits 1, and records the last tests that list then shows; deleting one
// tenant leaves the others' items byte for byte.
func TestListAndTestAll(t *testing.T) {
	good := []string{"acme-dev", "acme-prod", "beta-prod"}
	bad := []string{"acme-old", "zeta-gone"}
	ts := newTenants(t, good, bad)
	all := slices.Sorted(slices.Values(slices.Concat(good, bad)))

	r := runIn(t, ts.e, "", "list")
	if r.code != exitOK {
		t.Fatalf("list: %v", r)
	}
	rows := lines(r.stdout)
	if len(rows) != 2+len(all) || !strings.HasPrefix(rows[1], "REGION") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	for i, tenant := range all {
		row := rows[2+i]
		if !strings.HasSuffix(row, "  "+tenant) || !strings.Contains(row, "not tested") {
			t.Errorf("list row %d: %q, want %s, not tested", i, row, tenant)
		}
		x509 := strings.Contains(row, "x509")
		if hasDate := regexp.MustCompile(`\d{4}-\d\d-\d\d \(in \d+ days\)`).MatchString(row); x509 != hasDate {
			t.Errorf("list row %q: an expiry for x509 keys only", row)
		}
	}

	r = runIn(t, ts.e, "", "test", "--all")
	if r.code != exitNo {
		t.Fatalf("test --all with rejected keys: %v; want exit 1", r)
	}
	out := lines(r.stdout)
	if !strings.HasPrefix(out[0], "Testing the service keys of 5 tenants, 5 at a time") {
		t.Errorf("first line %q", out[0])
	}
	// A line per tenant; under a failed one, its failed step's route, then
	// what to do (indented); nothing under one that works.
	var tenantLines []string
	under := map[int][]string{}
	for _, l := range out[1 : len(out)-1] {
		if strings.HasPrefix(l, "      ") && len(tenantLines) > 0 {
			under[len(tenantLines)-1] = append(under[len(tenantLines)-1], l)
			continue
		}
		tenantLines = append(tenantLines, l)
	}
	if len(tenantLines) != len(all) {
		t.Fatalf("%d tenant lines for %d tenants:\n%s", len(tenantLines), len(all), r.stdout)
	}
	for i, tenant := range all {
		l := tenantLines[i]
		if slices.Contains(bad, tenant) {
			if !strings.HasPrefix(l, "FAIL  "+tenant+" (") || !strings.Contains(l, "logon fails: the key was rejected") || !strings.Contains(l, "HTTP 401") {
				t.Errorf("line of rejected %s: %q", tenant, l)
			}
			if u := under[i]; len(u) != 2 || !strings.HasPrefix(u[0], "      Route: direct") || !strings.HasPrefix(u[1], "      What to do:") {
				t.Errorf("under rejected %s: %q, want its route, then what to do", tenant, u)
			}
		} else if !strings.HasPrefix(l, "ok    "+tenant+" (") || !strings.Contains(l, "logon works") || len(under[i]) != 0 {
			t.Errorf("line of %s: %q, then %q", tenant, l, under[i])
		}
	}
	if want := "5 tenants tested: 3 work, 2 fail (acme-old, zeta-gone)."; out[len(out)-1] != want {
		t.Errorf("summary %q, want %q", out[len(out)-1], want)
	}

	// list shows the last tests, run by test --all.
	r = runIn(t, ts.e, "", "list", "--json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || r.code != exitOK || len(l.Tenants) != len(all) {
		t.Fatalf("list --json: %v (%v)", r, err)
	}
	for i, tj := range l.Tenants {
		if tj.Tenant != all[i] || tj.LastTest == nil || time.Since(tj.LastTest.At) > time.Minute || tj.ClientID == "" || tj.UploadedAt == nil {
			t.Errorf("list --json tenant %d: %+v", i, tj)
			continue
		}
		want := "works"
		if slices.Contains(bad, tj.Tenant) {
			want = "rejected"
		}
		if tj.LastTest.Result != want || tj.LastTest.OK != (want == "works") {
			t.Errorf("%s: last test %+v, want %s", tj.Tenant, tj.LastTest, want)
		}
		if (tj.CredentialType == "x509") != (tj.CertExpiry != nil) {
			t.Errorf("%s: type %s, cert_expiry %v", tj.Tenant, tj.CredentialType, tj.CertExpiry)
		}
	}
	r = runIn(t, ts.e, "", "list")
	if !strings.Contains(r.stdout, "logon fails: the key was rejected, ") || strings.Count(r.stdout, "logon works, ") != 3 {
		t.Errorf("list after test --all:\n%s", r.stdout)
	}

	// test --all --json: one object, a report per tenant, a summary.
	r = runIn(t, ts.e, "", "test", "--all", "--json")
	var aj struct {
		OK      bool `json:"ok"`
		Tenants []struct {
			Tenant      string           `json:"tenant"`
			OK          bool             `json:"ok"`
			KeyRejected bool             `json:"key_rejected"`
			Steps       []map[string]any `json:"steps"`
			Ms          *json.Number     `json:"ms"`
		} `json:"tenants"`
		Summary allSummary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &aj); err != nil || r.code != exitNo || aj.OK {
		t.Fatalf("test --all --json: %v (%v)", r, err)
	}
	if aj.Summary.Tested != 5 || aj.Summary.OK != 3 || aj.Summary.Failed != 2 || !slices.Equal(aj.Summary.FailedTenants, []string{"acme-old", "zeta-gone"}) {
		t.Errorf("summary %+v", aj.Summary)
	}
	for i, tr := range aj.Tenants {
		rejected := slices.Contains(bad, tr.Tenant)
		if tr.Tenant != all[i] || tr.OK == rejected || tr.KeyRejected != rejected || len(tr.Steps) != 2 || tr.Ms == nil {
			t.Errorf("tenant report %d: %+v", i, tr)
		}
	}

	// Deleting one tenant leaves the other tenants' items byte for byte.
	others := ts.mem.Items(unitService)
	delete(others, vault.IndexItem)
	maps.DeleteFunc(others, func(user, _ string) bool { return strings.HasPrefix(user, vault.KeyItem("acme-old")) })
	if r := runIn(t, ts.e, "", "delete", "--tenant", "acme-old", "--yes"); r.code != exitOK || !strings.Contains(r.stdout, "tenant acme-old") {
		t.Fatalf("delete --tenant acme-old: %v", r)
	}
	after := ts.mem.Items(unitService)
	delete(after, vault.IndexItem)
	if !maps.Equal(after, others) {
		t.Error("deleting acme-old changed the other tenants' items")
	}
	r = runIn(t, ts.e, "", "test", "--all")
	if r.code != exitNo || !strings.HasSuffix(r.stdout, "4 tenants tested: 3 work, 1 fails (zeta-gone).\n") {
		t.Errorf("test --all after the delete: %v", r)
	}
	if r := runIn(t, ts.e, "", "delete", "--tenant", "zeta-gone", "--yes"); r.code != exitOK {
		t.Fatal(r)
	}
	if r := runIn(t, ts.e, "", "test", "--all"); r.code != exitOK || !strings.HasSuffix(r.stdout, "3 tenants tested: 3 work.\n") {
		t.Errorf("test --all with good keys only: %v", r)
	}
	// A single test records too: the last test is the newest.
	ts.good.RejectKey(true)
	if r := runIn(t, ts.e, "", "test", "--tenant", "beta-prod"); r.code != exitNo || !strings.Contains(r.stderr, "calmkeyctl delete --tenant beta-prod") {
		t.Errorf("test --tenant beta-prod with its key rejected: %v", r)
	}
	r = runIn(t, ts.e, "", "list", "--json")
	_ = json.Unmarshal([]byte(r.stdout), &l)
	for _, tj := range l.Tenants {
		if want := map[bool]string{true: "rejected", false: "works"}[tj.Tenant == "beta-prod"]; tj.LastTest == nil || tj.LastTest.Result != want {
			t.Errorf("%s after a single test: %+v, want %s", tj.Tenant, tj.LastTest, want)
		}
	}
}

// TestListEmptyAndNothingToTest: list with nothing stored is exit 0 and
// says so; test --all is exit 1, not_stored.
func TestListEmptyAndNothingToTest(t *testing.T) {
	e := env{backend: vaulttest.NewMemoryBackend()}
	if r := runIn(t, e, "", "list"); r.code != exitOK || !strings.Contains(r.stdout, "No service key is stored") {
		t.Errorf("list: %v", r)
	}
	r := runIn(t, e, "", "list", "--json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"tenants": []`) {
		t.Errorf("list --json: %v", r)
	}
	r = runIn(t, e, "", "test", "--all", "--json")
	if r.code != exitNo || !strings.Contains(r.stdout, `"error_code": "not_stored"`) {
		t.Errorf("test --all --json: %v", r)
	}
}

// oddNames are tenant names of every kind.
var oddNames = []string{
	"acme prod",
	"mandant-münchen-東京",
	"it's-a-tenant",
	strings.Repeat("sehr-langer-name-", 18)[:300],
}

// TestOddTenantNamesInProcess: names with spaces, any script, a quote and
// 300 characters come back exactly in every view, and the commands that
// are proposed quote them for a shell.
func TestOddTenantNamesInProcess(t *testing.T) {
	ts := newTenants(t, oddNames[:3], oddNames[3:])
	r := runIn(t, ts.e, "", "status")
	for _, n := range oddNames {
		if !strings.Contains(r.stderr, "\n  "+n+"\n") && !strings.HasSuffix(r.stderr, "\n  "+n+"\n") {
			t.Errorf("the exit-2 list lacks %q:\n%s", n, r.stderr)
		}
	}
	r = runIn(t, ts.e, "", "list")
	for _, n := range oddNames {
		// None is a valid tenant (subdomain) name: each is flagged.
		if !strings.Contains(r.stdout, "  "+n+"  (not a valid tenant name: see below)\n") {
			t.Errorf("list lacks %q, flagged:\n%s", n, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "\nWarning: the 4 names flagged above are not valid tenant (subdomain) names.") {
		t.Errorf("list does not say why it flags the names:\n%s", r.stdout)
	}
	for _, n := range oddNames {
		r := runIn(t, ts.e, "", "status", "--tenant", n, "--json")
		var st statusJSON
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != exitOK || st.Tenant != n {
			t.Errorf("status --json --tenant %q: %v", n, r)
		}
		if r := runIn(t, ts.e, "", "status", "--tenant", n); r.code != exitOK || !strings.Contains(r.stdout, "Tenant:              "+n+"\n") {
			t.Errorf("status --tenant %q: %v", n, r)
		}
		if r := runIn(t, ts.e, "", "download", "-", "--tenant", n); r.code != exitOK || r.stdout != string(ts.files[n]) {
			t.Errorf("download --tenant %q: exit %d", n, r.code)
		}
	}
	r = runIn(t, ts.e, "", "test", "--all")
	long := oddNames[3]
	if r.code != exitNo || !strings.Contains(r.stdout, "FAIL  "+long+" (") || !strings.Contains(r.stdout, "1 fails ("+long+").") {
		t.Errorf("test --all: %v", r)
	}
	r = runIn(t, ts.e, "", "test", "--tenant", long)
	if !strings.Contains(r.stderr, "calmkeyctl delete --tenant "+long+"'") {
		t.Errorf("test of a rejected key does not propose the delete: %q", r.stderr)
	}
	// A second key of such a name is refused by the format check; status
	// says why the stored one is flagged, and how to delete it, quoted.
	r = runIn(t, ts.e, string(ts.good.SecretKeyWith(testkeys.Fields{Tenant: "acme prod", ClientID: "sb-2!b1|sapcloudalm!b2"})), "upload", "-")
	if r.code != exitNo || !strings.Contains(r.stderr, "uaa.identityzone: is not a valid tenant (subdomain) name") {
		t.Errorf("second key of 'acme prod': %v", r)
	}
	r = runIn(t, ts.e, "", "status", "--tenant", "acme prod")
	if r.code != exitOK || !strings.Contains(r.stdout, `Warning: "acme prod" is not a valid tenant (subdomain) name`) || !strings.Contains(r.stdout, "'calmkeyctl delete --tenant "+shellQuote("acme prod")+"'") {
		t.Errorf("status of 'acme prod': %v", r)
	}
	if q := shellQuote("it's-a-tenant"); q != `'it'\''s-a-tenant'` && q != `"it's-a-tenant"` {
		t.Errorf("shellQuote = %s", q)
	}
	for _, n := range oddNames {
		if r := runIn(t, ts.e, "", "delete", "--tenant", n, "--yes"); r.code != exitOK {
			t.Errorf("delete --tenant %q: %v", n, r)
		}
	}
	if n := keyItems(ts.mem, unitService); n != 0 {
		t.Errorf("%d items left", n)
	}
}

// BenchmarkTestAll20 is the figure of issue 11: test --all over 20 tenants
// whose servers answer each request after 200 ms, against the same 20
// tests one after another (test --tenant X, each). Target: at most a
// quarter of the time. Run it with
//
//	go test -run '^$' -bench TestAll20 -benchtime 3x ./cmd/calmkeyctl
func BenchmarkTestAll20(b *testing.B) {
	const tenants, delay = 20, 200 * time.Millisecond
	srv := fakealm.Start(b, fakealm.Options{Delay: delay})
	e := env{backend: vaulttest.NewMemoryBackend(), rootCAs: srv.RootCAs(), historyDir: b.TempDir(), lockDir: b.TempDir(),
		getenv: func(string) string { return "" }}
	runB := func(stdin string, args ...string) (int, string) {
		var out, errb strings.Builder
		code := run(b.Context(), args, strings.NewReader(stdin), &out, &errb, e)
		return code, out.String() + errb.String()
	}
	var names []string
	for i := range tenants {
		name := fmt.Sprintf("tenant-%02d", i)
		names = append(names, name)
		key := srv.SecretKeyWith(testkeys.Fields{Tenant: name})
		if i%2 == 1 {
			key = srv.X509KeyWith(testkeys.Fields{Tenant: name})
		}
		if code, out := runB(string(key), "upload", "-"); code != exitOK {
			b.Fatal(out)
		}
	}
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if code, out := runB("", "test", "--all", "--timeout", "1m"); code != exitOK {
				b.Fatal(out)
			}
		}
	})
	b.Run("one-after-another", func(b *testing.B) {
		for b.Loop() {
			for _, name := range names {
				if code, out := runB("", "test", "--tenant", name, "--timeout", "1m"); code != exitOK {
					b.Fatal(out)
				}
			}
		}
	})
}

// TestDamagedTenantInListAndTestAll: tenants whose manifest or a part is
// damaged are listed as such (list reads every key whole: it vouches for
// nothing it did not read); test --all fails both damaged tenants with the
// reason and tests the others; the JSON names them with error_code corrupt.
func TestDamagedTenantInListAndTestAll(t *testing.T) {
	ts := newTenants(t, []string{"acme-dev", "acme-prod", "beta"}, nil)
	_ = ts.mem.Set(unitService, vault.KeyItem("acme-dev"), "{not json")
	part := vault.PartItem("acme-prod", 1)
	v, _ := ts.mem.Get(unitService, part)
	_ = ts.mem.Set(unitService, part, v[:len(v)-1])
	r := runIn(t, ts.e, "", "list")
	if r.code != exitOK || !regexp.MustCompile(`damaged: see 'calmkeyctl status --tenant acme-prod'\s+acme-prod\n`).MatchString(r.stdout) ||
		!regexp.MustCompile(`damaged: see 'calmkeyctl status --tenant acme-dev'\s+acme-dev\n`).MatchString(r.stdout) || !regexp.MustCompile(`not tested\s+beta\n`).MatchString(r.stdout) {
		t.Errorf("list with damaged keys: %v", r)
	}
	r = runIn(t, ts.e, "", "list", "--json")
	if r.code != exitOK || strings.Count(r.stdout, `"error_code": "corrupt"`) != 2 || !strings.Contains(r.stdout, "acme-prod is damaged (its checksum does not match)") {
		t.Errorf("list --json with damaged keys: %v", r)
	}
	r = runIn(t, ts.e, "", "test", "--all")
	if r.code != exitNo || !strings.Contains(r.stdout, "ok    beta (") ||
		!strings.Contains(r.stdout, "FAIL  acme-dev: the key cannot be read: the stored service key of tenant acme-dev is damaged (its manifest cannot be read)") ||
		!strings.Contains(r.stdout, "FAIL  acme-prod: the key cannot be read: the stored service key of tenant acme-prod is damaged (its checksum does not match)") ||
		!strings.HasSuffix(r.stdout, "3 tenants tested: 1 works, 2 fail (acme-dev, acme-prod).\n") {
		t.Errorf("test --all with damaged keys: %v", r)
	}
	r = runIn(t, ts.e, "", "test", "--all", "--json")
	var aj struct {
		Tenants []struct {
			Tenant    string `json:"tenant"`
			OK        bool   `json:"ok"`
			ErrorCode string `json:"error_code"`
		} `json:"tenants"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &aj); err != nil || len(aj.Tenants) != 3 || aj.Tenants[0].ErrorCode != "corrupt" || aj.Tenants[1].ErrorCode != "corrupt" || !aj.Tenants[2].OK {
		t.Errorf("test --all --json with damaged keys: %v (%v)", r, err)
	}
	if !strings.Contains(r.stdout, "    {\n      \"tenant\": \"beta\",\n      \"ok\": true,\n      \"key_rejected\": false,") {
		t.Errorf("test --all --json: each tenant's object starts with tenant, then the report in its order:\n%s", r.stdout)
	}
}
