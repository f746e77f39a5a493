package vault

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/vault/vaulttest"
)

// Two Stores that lock different files (another HOME, an older calmkey)
// share one keychain: a Save of one that reads the index, then writes its
// parts while the other stores its tenant, must still keep both tenants.
func TestIndexChangedDuringSave(t *testing.T) {
	m := vaulttest.NewMemoryBackend()
	a := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 5 * time.Second})
	b := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 5 * time.Second})
	ctx := context.Background()
	storeTenants(t, a, "acme-dev")
	alpha := itemsOf("alpha")
	var once sync.Once
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpSet && c.User == alpha.part(1) {
			// a has read the index; b stores its tenant now.
			once.Do(func() { storeTenants(t, b, "beta") })
		}
		return nil
	})
	storeTenants(t, a, "alpha")
	m.Intercept(nil)
	if got, want := listed(t, a), []string{"acme-dev", "alpha", "beta"}; !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	// And a delete made while the index changed keeps the other's change.
	once = sync.Once{}
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpDelete && c.User == KeyItem("acme-dev") {
			once.Do(func() { storeTenants(t, b, "gamma") })
		}
		return nil
	})
	if err := a.Delete(ctx, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	m.Intercept(nil)
	if got, want := listed(t, a), []string{"alpha", "beta", "gamma"}; !slices.Equal(got, want) {
		t.Fatalf("after the delete: listed %v, want %v", got, want)
	}
}

// A write of the index that another writer had read before (and so lacks
// this one's tenant) lands after this one's write: the check that follows
// the write finds its tenant missing and writes it again.
func TestIndexOverwrittenAfterWrite(t *testing.T) {
	s, m := memStore(t)
	storeTenants(t, s, "beta")
	stale := m.Items(memService)[IndexItem]
	var mu sync.Mutex
	wrote, done := false, false
	m.Intercept(func(c vaulttest.Call) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case done:
		case c.Op == vaulttest.OpSet && c.User == IndexItem:
			wrote = true
		case c.Op == vaulttest.OpGet && c.User == IndexItem && wrote:
			done = true
			m.Intercept(nil) // the write below is the other writer's
			if err := m.Set(memService, IndexItem, stale); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	storeTenants(t, s, "alpha")
	if !done {
		t.Fatal("the index was not read after it was written")
	}
	if got, want := listed(t, s), []string{"alpha", "beta"}; !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
}

// The last key deleted takes the index item with it: nothing of calmkey's
// is left in the keychain, and the Stamp is "". A new index after that
// never repeats an earlier Stamp.
func TestDeleteLastRemovesIndex(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	storeTenants(t, s, "acme-dev", "acme-prod")
	first, err := s.Stamp(ctx)
	if err != nil || first == "" {
		t.Fatalf("Stamp = %q, %v", first, err)
	}
	for _, tenant := range []string{"acme-dev", "acme-prod"} {
		if err := s.Delete(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	if items := m.Items(memService); len(items) != 0 {
		t.Errorf("items left after the last delete: %v", slices.Sorted(maps.Keys(items)))
	}
	if st, err := s.Stamp(ctx); st != "" || err != nil {
		t.Errorf("Stamp with nothing stored = %q, %v", st, err)
	}
	storeTenants(t, s, "acme-dev", "acme-prod")
	if again, _ := s.Stamp(ctx); again == first || again == "" {
		t.Errorf("the same tenants stored again give the Stamp %q of before (%q)", again, first)
	}
}
