package almtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/lockfile"
	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

func stored(t testing.TB, data []byte, uploaded time.Time) *vault.Stored {
	t.Helper()
	return &vault.Stored{Key: parse(t, data), UploadedAt: uploaded}
}

// TestHistory: a test is kept per tenant and shown only for the key it was
// made with; the file is the user's alone and holds no secret or token.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	good := fakealm.Start(t, fakealm.Options{})
	bad := fakealm.Start(t, fakealm.Options{})
	bad.RejectKey(true)
	dir := filepath.Join(t.TempDir(), "calmkey")
	h, err := OpenHistory(dir, "calmkey-history/test")
	if err != nil {
		t.Fatal(err)
	}
	if tests, err := h.Read(ctx); err != nil || len(tests) != 0 {
		t.Fatalf("Read with nothing recorded: %v, %v", tests, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("reading made the folder")
	}
	up := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	works := stored(t, good.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev"}), up)
	fails := stored(t, bad.X509KeyWith(testkeys.Fields{Tenant: "acme-prod"}), up)
	repWorks, repFails := run(t, good, works.Key.Bytes()), run(t, bad, fails.Key.Bytes())
	if !repWorks.OK || repFails.OK || !repFails.KeyRejected {
		t.Fatalf("the runs: %v / %v", repWorks.Short(), repFails.Short())
	}
	if err := h.Record(ctx, NewLastTest(works, repWorks), NewLastTest(fails, repFails)); err != nil {
		t.Fatal(err)
	}
	// Another History of the same service, as another process has.
	other, _ := OpenHistory(dir, "calmkey-history/test")
	tests, err := other.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lt := tests.For(works.Summary()); lt == nil || !lt.Report.OK || !lt.At().Equal(repWorks.Started.Round(0)) {
		t.Errorf("acme-dev's last test: %+v", lt)
	}
	if lt := tests.For(fails.Summary()); lt == nil || lt.Report.Code() != "rejected" {
		t.Errorf("acme-prod's last test: %+v", lt)
	}
	// Another key of the tenant (uploaded later, or another client) has
	// not been tested.
	later := *works
	later.UploadedAt = up.Add(time.Second)
	if lt := tests.For(later.Summary()); lt != nil {
		t.Error("a key uploaded later shows the old key's test")
	}
	if lt := tests.For(stored(t, good.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev", ClientID: "sb-x!b1|sapcloudalm!b2"}), up).Summary()); lt != nil {
		t.Error("another client's key shows the old key's test")
	}
	// Nor has another key file of the same client, uploaded at the same
	// moment (vault.Identity.Same: the bytes' hash too).
	if lt := tests.For(stored(t, good.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev", Secret: "another-secret-of-the-same-client"}), up).Summary()); lt != nil {
		t.Error("another key file of the same client and upload time shows the old key's test")
	}
	// Another service has a history of its own.
	elsewhere, _ := OpenHistory(dir, "calmkey")
	if elsewhere.Path() == h.Path() {
		t.Fatal("two services share one history")
	}
	if tests, _ := elsewhere.Read(ctx); len(tests) != 0 {
		t.Error("another service's history shows these tests")
	}
	// The user's alone, and nothing secret in it.
	if err := privfile.Check(h.Path()); err != nil {
		t.Error(err)
	}
	b, err := os.ReadFile(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	_, keyPEM := bad.ClientPEM()
	secrets := append(good.Tokens(), testkeys.Secret)
	for _, line := range strings.Split(keyPEM, "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			secrets = append(secrets, line)
		}
	}
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Errorf("the history holds secret material (%d chars)", len(s))
		}
	}
	if len(good.Tokens()) == 0 {
		t.Fatal("no token was issued; the scan proves nothing")
	}
	// Forget, and a damaged file is replaced by the next record.
	if err := h.Forget(ctx, "acme-prod"); err != nil {
		t.Fatal(err)
	}
	if tests, _ := h.Read(ctx); len(tests) != 1 || tests.For(fails.Summary()) != nil {
		t.Errorf("after Forget: %v", tests)
	}
	if err := os.WriteFile(h.Path(), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Read(ctx); err == nil {
		t.Error("a damaged history reads without error")
	}
	if err := h.Record(ctx, NewLastTest(fails, repFails)); err != nil {
		t.Fatal(err)
	}
	if tests, err := h.Read(ctx); err != nil || tests.For(fails.Summary()) == nil {
		t.Errorf("after replacing a damaged history: %v, %v", tests, err)
	}
}

// TestHistoryConcurrentRecords: processes recording at once lose no
// result (each History stands for a process; the lock is a file lock).
func TestHistoryConcurrentRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := fakealm.Start(t, fakealm.Options{})
	st := stored(t, srv.SecretKey(), time.Now())
	rep := run(t, srv, st.Key.Bytes())
	const writers, each = 4, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, _ := OpenHistory(dir, "calmkey-race")
			for i := range each {
				lt := NewLastTest(st, rep)
				lt.Tenant = fmt.Sprintf("tenant-%d-%d", w, i)
				if err := h.Record(ctx, lt); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	h, _ := OpenHistory(dir, "calmkey-race")
	tests, err := h.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != writers*each {
		t.Errorf("%d tests kept of %d recorded", len(tests), writers*each)
	}
}

// TestHistoryStamp: the stamp changes with every write, even one that keeps
// the file's size (the same test recorded again), and is the same while the
// file is not written.
func TestHistoryStamp(t *testing.T) {
	ctx := context.Background()
	srv := fakealm.Start(t, fakealm.Options{})
	h, _ := OpenHistory(filepath.Join(t.TempDir(), "calmkey"), "calmkey-stamp")
	stamp := func() string {
		t.Helper()
		s, err := h.Stamp(ctx)
		if err != nil || s == "" {
			t.Fatalf("Stamp: %q, %v", s, err)
		}
		return s
	}
	seen := map[string]string{stamp(): "before any record"}
	st := stored(t, srv.SecretKey(), time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	lt := NewLastTest(st, run(t, srv, st.Key.Bytes()))
	for i, write := range []func() error{
		func() error { return h.Record(ctx, lt) },
		func() error { return h.Record(ctx, lt) }, // same bytes but gen
		func() error { return h.Forget(ctx, st.Key.Tenant) },
		func() error { return h.Forget(ctx, st.Key.Tenant) }, // nothing to forget, still a write
		func() error { return os.WriteFile(h.Path(), []byte("{broken"), 0o600) },
		func() error { return h.Record(ctx, lt) },
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
		s := stamp()
		if was, ok := seen[s]; ok {
			t.Errorf("write %d left the stamp of %s: %q", i, was, s)
		}
		seen[s] = fmt.Sprint("write ", i)
		if again := stamp(); again != s {
			t.Errorf("the stamp changed without a write: %q, then %q", s, again)
		}
	}
	// Gen, in the file's first bytes, counts the writes since the broken
	// file: the stamp holds even where the file system's time and
	// identity do not change.
	b, err := os.ReadFile(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	if g := headGen(b[:min(len(b), stampRead)]); g != 1 {
		t.Errorf("gen %d after one write over a broken file, want 1", g)
	}
	if err := h.Record(ctx, lt); err != nil {
		t.Fatal(err)
	}
	if b, _ = os.ReadFile(h.Path()); headGen(b[:min(len(b), stampRead)]) != 2 {
		t.Errorf("gen did not count the next write:\n%s", b[:min(len(b), stampRead)])
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Stamp(cancelled); err == nil {
		t.Error("Stamp with an ended context gave no error")
	}
}

// TestHistoryHostileFile: a history written by another program is shown
// only as far as calmkey would have written it: escape sequences, controls
// and bidi characters are taken out of every string, long text is cut,
// scopes that are not plain names are dropped, and records of another shape
// (unknown step or status, a report that contradicts its steps, a tenant
// that is not the record's own, names that are not clean, a hash that is
// not one) are dropped whole.
func TestHistoryHostileFile(t *testing.T) {
	ctx := context.Background()
	srv := fakealm.Start(t, fakealm.Options{})
	up := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	st := stored(t, srv.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev"}), up)
	id := st.Identity()
	long := strings.Repeat("x", 5000)
	steps := `[{"id":"token","status":"ok","ms":5,"detail":"got an access token"},{"id":"api","status":"ok","ms":7,"http_status":200,"detail":"ok"}]`
	report := func(steps string) string {
		return `{"ok":true,"key_rejected":false,"steps":` + steps + `,"started":"2026-03-02T10:00:00Z","ms":12,"token_lifetime_s":43199,"scopes":[]}`
	}
	record := func(tenant, sha, rep string) string {
		q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		return fmt.Sprintf(`{"tenant":%s,"client_id":%s,"uploaded_at":%s,"sha256":%s,"report":%s}`, q(tenant), q(id.ClientID), q(up.Format(time.RFC3339)), q(sha), rep)
	}
	good := `{"ok":true,"key_rejected":false,"steps":[` +
		`{"id":"token","status":"ok","ms":5,"detail":"got \u001b]0;pwned\u0007an \u001b[2Jaccess\u202e token\u0000\u009b31m","hint":"` + long + `"},` +
		`{"id":"api","status":"warn","ms":7,"http_status":403,"detail":"\u200fHTTP\r\n403\u0085 \u001bPdcs\u001b\\forbidden"}],` +
		`"started":"2026-03-02T10:00:00Z","ms":12,"token_lifetime_s":43199,` +
		`"scopes":["calm-api.projects.read","evil\u001b[2J","` + long + `","a b"]}`
	hostile := `{"format":"calmkey-last-tests","version":1,"gen":7,"tests":{` +
		`"acme-dev":` + record("acme-dev", id.SHA256, good) + `,` +
		`"old":` + record("old", "", report(steps)) + `,` +
		`"unknown-step":` + record("unknown-step", id.SHA256, report(strings.Replace(steps, `"api"`, `"shell"`, 1))) + `,` +
		`"unknown-status":` + record("unknown-status", id.SHA256, report(strings.Replace(steps, `"status":"ok"`, `"status":"great"`, 1))) + `,` +
		`"three-steps":` + record("three-steps", id.SHA256, report(strings.Replace(steps, `]`, `,{"id":"api","status":"ok","ms":1,"detail":""}]`, 1))) + `,` +
		`"says-ok":` + record("says-ok", id.SHA256, report(strings.Replace(steps, `"status":"ok","ms":7`, `"status":"fail","ms":7`, 1))) + `,` +
		`"not-its-own":` + record("someone-else", id.SHA256, report(steps)) + `,` +
		`"esc\u001b[2J":` + record("esc\u001b[2J", id.SHA256, report(steps)) + `,` +
		`"rtl":` + record("rtl\u202e", id.SHA256, report(steps)) + `,` +
		`"bad-hash":` + record("bad-hash", strings.ToUpper(id.SHA256), report(steps)) + `,` +
		`"short-hash":` + record("short-hash", id.SHA256[:10], report(steps)) + `,` +
		`"no-report":` + record("no-report", id.SHA256, "null") + `,` +
		`"negative":` + record("negative", id.SHA256, report(strings.Replace(steps, `"ms":5`, `"ms":-5`, 1))) + `,` +
		`"bad-http":` + record("bad-http", id.SHA256, report(strings.Replace(steps, `"http_status":200`, `"http_status":99999`, 1))) +
		`}}`
	dir := t.TempDir()
	h, _ := OpenHistory(dir, "calmkey-hostile")
	if err := os.WriteFile(h.Path(), []byte(hostile), 0o600); err != nil {
		t.Fatal(err)
	}
	tests, err := h.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for tenant := range tests {
		kept = append(kept, tenant)
	}
	slices.Sort(kept)
	if want := []string{"acme-dev", "old"}; !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
	}
	// A record without the key's hash matches no key.
	oldSum := st.Summary()
	oldSum.Tenant = "old"
	if lt := tests["old"]; lt.Report == nil || tests.For(oldSum) != nil {
		t.Errorf("a record without a hash: %+v, matches a key: %v", lt, tests.For(oldSum) != nil)
	}
	lt := tests.For(st.Summary())
	if lt == nil {
		t.Fatal("the hostile file's one good record does not match its key")
	}
	rep := lt.Report
	if got := rep.Steps[0].Detail; got != "got an access token" {
		t.Errorf("token detail %q", got)
	}
	if got := rep.Steps[1].Detail; got != "HTTP 403 forbidden" {
		t.Errorf("API detail %q", got)
	}
	if n := utf8.RuneCountInString(rep.Steps[0].Hint); n > historyTextMax+1 || !strings.HasSuffix(rep.Steps[0].Hint, "…") {
		t.Errorf("a 5000-character hint kept %d runes, ending %q", n, rep.Steps[0].Hint[max(0, len(rep.Steps[0].Hint)-8):])
	}
	if want := []string{"calm-api.projects.read"}; !slices.Equal(rep.Scopes, want) {
		t.Errorf("scopes %q, want %q", rep.Scopes, want)
	}
	if rep.Outcome() != "Logon works, with a warning" || rep.Steps[1].HTTPStatus != 403 {
		t.Errorf("the good record reads %q, HTTP %d", rep.Outcome(), rep.Steps[1].HTTPStatus)
	}
	for _, s := range []string{rep.String(), fmt.Sprint(tests)} {
		if i := strings.IndexFunc(s, func(r rune) bool {
			return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
		}); i >= 0 {
			t.Errorf("a control or format character is left at %d: %q", i, s[max(0, i-10):min(len(s), i+10)])
		}
	}
	// The next write keeps the cleaned records only.
	if err := h.Forget(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "pwned") || strings.Contains(string(b), "shell") || bytes.Contains(b, []byte(`\u001b`)) {
		t.Errorf("the rewritten history keeps hostile text:\n%s", b)
	}
}

// TestHistoryHostileRoutes: a step's route read from the history keeps only
// what netroute would have written: a known kind, a proxy that is a clean
// host:port (and none on a direct route), its source and note cleaned and
// capped. A route that fails is dropped and its record kept; a route that
// is recorded never carries the proxy's password.
func TestHistoryHostileRoutes(t *testing.T) {
	ctx := context.Background()
	srv := fakealm.Start(t, fakealm.Options{})
	up := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	st := stored(t, srv.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev"}), up)
	id := st.Identity()
	long := strings.Repeat("y", 5000)
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	record := func(tenant, route string) string {
		steps := `[{"id":"token","status":"ok","ms":5,"detail":"got an access token","route":` + route + `},` +
			`{"id":"api","status":"ok","ms":7,"http_status":200,"detail":"ok"}]`
		rep := `{"ok":true,"key_rejected":false,"steps":` + steps + `,"started":"2026-03-02T10:00:00Z","ms":12,"token_lifetime_s":43199,"scopes":[]}`
		return fmt.Sprintf(`{"tenant":%s,"client_id":%s,"uploaded_at":%s,"sha256":%s,"report":%s}`, q(tenant), q(id.ClientID), q(up.Format(time.RFC3339)), q(id.SHA256), rep)
	}
	cases := []struct {
		tenant, route string
		want          *netroute.Route // nil: the route is dropped
	}{
		{"direct", `{"kind":"direct","text":"direct"}`, &netroute.Route{Kind: netroute.Direct}},
		{"proxy", `{"kind":"proxy","proxy":"proxy.corp:8080","source":"HTTPS_PROXY","text":"lies"}`,
			&netroute.Route{Kind: netroute.Proxy, Proxy: "proxy.corp:8080", Source: "HTTPS_PROXY"}},
		{"ipv6", `{"kind":"proxy","proxy":"[fd00::1]:3128","source":"Windows settings"}`,
			&netroute.Route{Kind: netroute.Proxy, Proxy: "[fd00::1]:3128", Source: "Windows settings"}},
		{"hostile-words", `{"kind":"proxy","proxy":"p.corp:1","source":"PAC http://wpad/\u001b]0;pwned\u0007p.pac\u202e","note":` + q(long) + `}`,
			&netroute.Route{Kind: netroute.Proxy, Proxy: "p.corp:1", Source: "PAC http://wpad/p.pac"}},
		{"unknown-kind", `{"kind":"socks","proxy":"p.corp:1"}`, nil},
		{"no-kind", `{"proxy":"p.corp:1"}`, nil},
		{"direct-with-proxy", `{"kind":"direct","proxy":"p.corp:1"}`, nil},
		{"proxy-without-one", `{"kind":"proxy"}`, nil},
		{"no-port", `{"kind":"proxy","proxy":"p.corp"}`, nil},
		{"port-zero", `{"kind":"proxy","proxy":"p.corp:0"}`, nil},
		{"port-too-big", `{"kind":"proxy","proxy":"p.corp:70000"}`, nil},
		{"port-word", `{"kind":"proxy","proxy":"p.corp:http"}`, nil},
		{"credentials", `{"kind":"proxy","proxy":"bob:s3cret@p.corp:1"}`, nil},
		{"escape", `{"kind":"proxy","proxy":"p\u001b[2J.corp:1"}`, nil},
		{"blank", `{"kind":"proxy","proxy":"p corp:1"}`, nil},
		{"url", `{"kind":"proxy","proxy":"http://p.corp:1"}`, nil},
		{"long-host", `{"kind":"proxy","proxy":"` + strings.Repeat("a", 300) + `:1"}`, nil},
	}
	var recs []string
	for _, c := range cases {
		recs = append(recs, q(c.tenant)+":"+record(c.tenant, c.route))
	}
	file := `{"format":"calmkey-last-tests","version":1,"gen":7,"tests":{` + strings.Join(recs, ",") + `}}`
	h, _ := OpenHistory(t.TempDir(), "calmkey-hostile-routes")
	if err := os.WriteFile(h.Path(), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	tests, err := h.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		lt, ok := tests[c.tenant]
		if !ok {
			t.Errorf("%s: the record was dropped with its route", c.tenant)
			continue
		}
		got := lt.Report.Steps[0].Route
		switch {
		case c.want == nil && got != nil:
			t.Errorf("%s: the route is kept: %+v", c.tenant, *got)
		case c.want != nil && got == nil:
			t.Errorf("%s: the route is dropped", c.tenant)
		case c.want != nil && (got.Kind != c.want.Kind || got.Proxy != c.want.Proxy || got.Source != c.want.Source):
			t.Errorf("%s: route %+v, want %+v", c.tenant, *got, *c.want)
		case c.tenant == "hostile-words":
			if n := utf8.RuneCountInString(got.Note); n > historyTextMax+1 || !strings.HasSuffix(got.Note, "…") {
				t.Errorf("a 5000-character note kept %d runes", n)
			}
		case c.want != nil && got.Note != "":
			t.Errorf("%s: note %q from nowhere", c.tenant, got.Note)
		}
		if got != nil && got.HasCredentials() {
			t.Errorf("%s: a route read back has credentials", c.tenant)
		}
	}
	if got := tests["proxy"].Report.String(); !strings.Contains(got, "Route: via proxy.corp:8080 (from HTTPS_PROXY)") || strings.Contains(got, "lies") {
		t.Errorf("the report shows the route as\n%s", got)
	}

	// A route recorded from a proxy URL with a password keeps none.
	res, err := netroute.New(netroute.Options{Proxy: "http://bob:s3cret@proxy.corp:3128"})
	if err != nil {
		t.Fatal(err)
	}
	rt := res.Route(ctx, &url.URL{Scheme: "https", Host: "alm.example.com"})
	if !rt.HasCredentials() {
		t.Fatal("the route lost the credentials the dialler needs")
	}
	rep := run(t, srv, st.Key.Bytes())
	rep.Steps[0].Route = &rt
	if err := h.Record(ctx, NewLastTest(st, rep)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("s3cret")) || bytes.Contains(b, []byte("bob")) || !bytes.Contains(b, []byte(`"via proxy.corp:3128 (from calmkey's proxy choice)"`)) {
		t.Errorf("the history keeps the proxy's credentials, or not its route:\n%s", b)
	}
}

// TestHistoryLockWaitsForTheCaller: while another process holds the lock,
// Record, Forget and Read give up when the caller's context ends, with an
// error that says so, and the file is left as it was.
func TestHistoryLockWaitsForTheCaller(t *testing.T) {
	dir := t.TempDir()
	h, _ := OpenHistory(dir, "calmkey-held")
	if err := h.Forget(t.Context()); err != nil {
		t.Fatal(err)
	}
	before, _ := h.Stamp(t.Context())
	other, err := lockfile.Open(h.Path() + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	defer other.Unlock()
	calls := map[string]func(context.Context) error{
		"Record": func(ctx context.Context) error {
			return h.Record(ctx, LastTest{Tenant: "t", Report: &Report{}})
		},
		"Forget": func(ctx context.Context) error { return h.Forget(ctx, "t") },
		"Read":   func(ctx context.Context) error { _, err := h.Read(ctx); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "in use by another calmkey") {
			t.Errorf("%s under another's lock: %v", name, err)
		}
	}
	if after, _ := h.Stamp(t.Context()); after != before {
		t.Error("a call that did not get the lock changed the file")
	}
}
