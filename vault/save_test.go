package vault

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// TestSaveSweepsCrashLeftovers: a save that crashes after writing its parts
// (the process dies: nothing more reaches the keychain, not even the undo)
// leaves parts that no manifest names. The next save of that tenant, of a
// shorter key, removes them: only its own items are left.
func TestSaveSweepsCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	long := edit(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-prod"}), func(root, _ map[string]any) {
		root["notes"] = strings.Repeat("n", 5*ChunkSize)
	})
	longKey, short := mustParse(t, long), mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-prod"}))
	s, m := memStore(t)
	storeTenants(t, s, "acme-dev")
	// Count the calls of a whole save, then crash after its parts.
	probe, pm := memStore(t)
	if err := probe.Save(ctx, longKey, ""); err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, c := range pm.Calls() {
		if c.Op == vaulttest.OpSet && strings.HasPrefix(c.User, KeyItem("acme-prod")+"-part-") {
			parts++
		}
	}
	if parts < 4 {
		t.Fatalf("the long key has %d parts; want several", parts)
	}
	crash := false
	m.Intercept(func(c vaulttest.Call) error {
		if crash {
			return errCrashed
		}
		if c.Op == vaulttest.OpSet && c.User == KeyItem("acme-prod") {
			crash = true // the manifest, and everything after, never happen
			return errCrashed
		}
		return nil
	})
	if err := s.Save(ctx, longKey, ""); err == nil {
		t.Fatal("the crashed save succeeded")
	}
	m.Intercept(nil)
	if left := keyItemsOf(m, "acme-prod"); len(left) != parts {
		t.Fatalf("the crash left %d items %v; want its %d parts", len(left), left, parts)
	}
	if err := s.Save(ctx, short, ""); err != nil {
		t.Fatal(err)
	}
	if left := keyItemsOf(m, "acme-prod"); !slices.Equal(left, []string{KeyItem("acme-prod"), PartItem("acme-prod", 1)}) {
		t.Errorf("after the new save: %v; want its manifest and one part", left)
	}
	if got := listed(t, s); !slices.Equal(got, []string{"acme-dev", "acme-prod"}) {
		t.Errorf("listed %v", got)
	}
	if st, err := s.Load(ctx, "acme-prod"); err != nil || string(st.Key.Bytes()) != string(short.Bytes()) {
		t.Errorf("Load: %v", err)
	}
}

var errCrashed = &Error{kind: ErrUnavailable, msg: "crashed"}

// keyItemsOf is the names of tenant's items in m, sorted.
func keyItemsOf(m *vaulttest.MemoryBackend, tenant string) []string {
	prefix := KeyItem(tenant)
	return slices.Sorted(func(yield func(string) bool) {
		for user := range maps.Keys(m.Items(memService)) {
			if strings.HasPrefix(user, prefix) && !yield(user) {
				return
			}
		}
	})
}
