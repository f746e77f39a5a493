package almtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
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
	if lt, err := other.Last(ctx, fails); err != nil || lt == nil || lt.Report.Code() != "rejected" {
		t.Errorf("acme-prod's last test: %+v, %v", lt, err)
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
	if lt, err := h.Last(ctx, fails); err != nil || lt == nil {
		t.Errorf("after replacing a damaged history: %v, %v", lt, err)
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
