package almtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// TestHistoryReplacements: each replacement is kept (the last 20 per
// tenant) beside the tests, in one write with the test that let the new key
// in; Last shows it only while the key it put in is stored; records not of
// calmkey's shape are dropped when read.
func TestHistoryReplacements(t *testing.T) {
	ctx := context.Background()
	srv := fakealm.Start(t, fakealm.Options{})
	h, err := OpenHistory(t.TempDir(), "calmkey-replaced")
	if err != nil {
		t.Fatal(err)
	}
	up := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	oldKey := stored(t, srv.SecretKeyWith(testkeys.Fields{Tenant: "acme-prod", ClientID: "sb-old!b1|alm"}), up.Add(-24*time.Hour))
	newKey := stored(t, srv.SecretKeyWith(testkeys.Fields{Tenant: "acme-prod", ClientID: "sb-new!b1|alm", Secret: "another-secret-4242"}), up)
	if rs, err := h.Replacements(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("Replacements with nothing recorded: %v, %v", rs, err)
	}
	rep := run(t, srv, newKey.Key.Bytes())
	lt := NewLastTest(newKey, rep)
	r := NewReplacement(oldKey.Identity(), newKey)
	if r.Tenant != "acme-prod" || r.OldClientID != "sb-old!b1|alm" || r.NewClientID != "sb-new!b1|alm" || !r.At.Equal(up) {
		t.Errorf("NewReplacement = %+v", r)
	}
	if err := h.RecordReplacement(ctx, r, &lt); err != nil {
		t.Fatal(err)
	}
	rs, err := h.Replacements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Last(newKey.Summary()); got == nil || got.OldClientID != "sb-old!b1|alm" {
		t.Errorf("Last of the new key = %+v", got)
	}
	if got := rs.Last(oldKey.Summary()); got != nil {
		t.Errorf("Last of another key = %+v, want none", got)
	}
	tests, err := h.Read(ctx)
	if err != nil || tests.For(newKey.Summary()) == nil {
		t.Errorf("the test that let the key in is not the new key's last test: %v", err)
	}
	// Recording a plain test keeps the replacements; each replacement is
	// kept, up to 20.
	if err := h.Record(ctx, lt); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		r.At = up.Add(time.Duration(i+1) * time.Hour)
		if err := h.RecordReplacement(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	rs, _ = h.Replacements(ctx)
	if n := len(rs["acme-prod"]); n != replacementsKept {
		t.Errorf("%d replacements kept, want %d", n, replacementsKept)
	}
	if last := rs["acme-prod"][len(rs["acme-prod"])-1]; !last.At.Equal(up.Add(25 * time.Hour)) {
		t.Errorf("the last one kept is of %v", last.At)
	}
	// A hostile record: a control character in a client id, a bad hash.
	b, err := os.ReadFile(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), `"old_client_id": "sb-old!b1|alm"`, `"old_client_id": "sb-\u001b[31mold"`, 1)
	text = strings.Replace(text, `"new_sha256": "`, `"new_sha256": "zz`, 1)
	if text == string(b) {
		t.Fatal("the file holds no record to spoil")
	}
	if err := os.WriteFile(filepath.Clean(h.Path()), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err = h.Replacements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs["acme-prod"] {
		if strings.ContainsRune(r.OldClientID, 0x1b) || r.NewSHA256 != newKey.Identity().SHA256 {
			t.Errorf("a spoilt record was kept: %+v", r)
		}
	}
	if n := len(rs["acme-prod"]); n != replacementsKept-2 && n != replacementsKept-1 {
		t.Errorf("%d records after spoiling two, want %d (or %d when both were one)", n, replacementsKept-2, replacementsKept-1)
	}
}
