package vault

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// rotation is an old key stored and a new key of the same tenant.
type rotation struct {
	oldFile, newFile []byte
	old, new         *Key
}

func newRotation(t *testing.T, x509 bool) rotation {
	t.Helper()
	r := rotation{
		oldFile: secretKey(t),
		newFile: testkeys.SecretKey(testkeys.Fields{ClientID: "sb-new-client!b1|alm", Secret: "the-new-secret-value-67890"}),
	}
	if x509 {
		r.oldFile, _ = x509Key(t, testkeys.RSAPKCS8)
		r.newFile, _ = x509Key(t, testkeys.ECDSA)
	}
	r.old, r.new = mustParse(t, r.oldFile), mustParse(t, r.newFile)
	return r
}

// stored saves r's old key in s and returns its identity.
func (r rotation) stored(t *testing.T, s *Store) Identity {
	t.Helper()
	if err := s.Save(context.Background(), r.old, "old.json"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(context.Background(), r.old.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	return st.Identity()
}

// assertClean asserts that the keychain holds tenant's key whole in the
// part set its manifest names and nothing else of it, and an index that
// lists it with nothing to tidy.
func assertClean(t *testing.T, items map[string]string, tenant string, want []byte) {
	t.Helper()
	it := itemsOf(tenant)
	m, err := decodeManifest(items[it.manifest], LayoutVersion)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	d, err := decodeIndexHead(items[IndexItem])
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	if len(d.Tidy) != 0 || len(d.Tenants) != 1 || d.Tenants[0] != tenant {
		t.Errorf("index lists %q with %q to tidy; want %q alone, nothing to tidy", d.Tenants, d.Tidy, tenant)
	}
	in := it.inSet(m.Parts)
	var joined strings.Builder
	for i := 1; i <= m.Chunks; i++ {
		joined.WriteString(items[in.part(i)])
	}
	if got, err := decodePercent(joined.String()); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the parts of set %q are not the key wanted", m.Parts)
	}
	if n := len(items) - 2 - m.Chunks; n != 0 {
		t.Errorf("%d items beside the index, the manifest and %d parts: %v", n, m.Chunks, itemNames(items))
	}
}

func itemNames(items map[string]string) []string {
	var names []string
	for k := range maps.Keys(items) {
		names = append(names, k)
	}
	return names
}

func TestReplaceSwaps(t *testing.T) {
	for _, x509 := range []bool{false, true} {
		name := "secret"
		if x509 {
			name = "x509"
		}
		t.Run(name, func(t *testing.T) {
			s, m := memStore(t)
			ctx := context.Background()
			r := newRotation(t, x509)
			old := r.stored(t, s)
			stamp, _ := s.Stamp(ctx)
			st, err := s.Replace(ctx, old, r.new, `C:\keys\new.json`)
			if err != nil {
				t.Fatal(err)
			}
			if st.FileName != "new.json" || st.Key != r.new || !st.UploadedAt.After(old.UploadedAt.Add(-1)) {
				t.Errorf("Replace returned %q %v", st.FileName, st.UploadedAt)
			}
			got, err := s.Load(ctx, r.old.Tenant)
			if err != nil || !bytes.Equal(got.Key.Bytes(), r.newFile) {
				t.Fatalf("Load after Replace: %v (or not the new bytes)", err)
			}
			if !got.Identity().Same(st.Identity()) {
				t.Error("Replace's Stored is not the key Load gives")
			}
			if now, _ := s.Stamp(ctx); now == stamp {
				t.Error("the Stamp did not change")
			}
			assertClean(t, m.Items(memService), r.old.Tenant, r.newFile)
			// And back: the third key goes to set A again.
			if _, err := s.Replace(ctx, got.Identity(), r.old, "old.json"); err != nil {
				t.Fatal(err)
			}
			assertClean(t, m.Items(memService), r.old.Tenant, r.oldFile)
			if err := s.Delete(ctx, r.old.Tenant); err != nil {
				t.Fatal(err)
			}
			if items := m.Items(memService); len(items) != 0 {
				t.Errorf("Delete left %v", itemNames(items))
			}
		})
	}
}

func TestReplaceRefuses(t *testing.T) {
	ctx := context.Background()
	r := newRotation(t, false)
	other := mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "other-tenant-42"}))
	s, m := memStore(t)
	if _, err := s.Replace(ctx, Identity{Tenant: r.old.Tenant}, r.new, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replace with nothing stored: %v, want ErrNotFound", err)
	}
	old := r.stored(t, s)
	sum := Summary{Tenant: old.Tenant, ClientID: old.ClientID, UploadedAt: old.UploadedAt, SHA256: old.SHA256}
	before := m.Items(memService)
	var mismatch *TenantMismatchError
	for _, err := range []error{CheckReplace(sum, other), func() error { _, err := s.Replace(ctx, old, other, ""); return err }()} {
		if !errors.Is(err, ErrOtherTenant) || !errors.As(err, &mismatch) || mismatch.Stored != r.old.Tenant || mismatch.New != "other-tenant-42" {
			t.Errorf("another tenant's key: %v", err)
		} else if !strings.Contains(err.Error(), "other-tenant-42") || !strings.Contains(err.Error(), r.old.Tenant) {
			t.Errorf("the refusal %q does not name both tenants", err)
		}
	}
	same := mustParse(t, r.oldFile)
	if err := CheckReplace(sum, same); !errors.Is(err, ErrIdentical) {
		t.Errorf("CheckReplace of the stored key: %v", err)
	}
	if _, err := s.Replace(ctx, old, same, ""); !errors.Is(err, ErrIdentical) || !strings.Contains(err.Error(), "already stored") {
		t.Errorf("Replace with the stored key: %v", err)
	}
	if err := CheckReplace(sum, r.new); err != nil {
		t.Errorf("CheckReplace of a good new key: %v", err)
	}
	stale := old
	stale.SHA256 = strings.Repeat("0", 64)
	if _, err := s.Replace(ctx, stale, r.new, ""); !errors.Is(err, ErrChanged) {
		t.Errorf("Replace of a key that changed meanwhile: %v", err)
	}
	if !maps.Equal(m.Items(memService), before) {
		t.Error("a refused Replace changed the keychain")
	}
}

// writeLog records, before each write call of a Replace, what the keychain
// holds: what a crash at that moment leaves, and what a load then reads.
type writeLog struct {
	mu     sync.Mutex
	m      *vaulttest.MemoryBackend
	writes int
	failAt int // fail this write and every call after it (a crash); 0: none
	snaps  []map[string]string
}

func (l *writeLog) hook(c vaulttest.Call) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failAt > 0 && l.writes >= l.failAt {
		return ErrUnavailable
	}
	if c.Op == vaulttest.OpGet {
		return nil
	}
	l.writes++
	l.snaps = append(l.snaps, l.m.Items(memService))
	if l.writes == l.failAt {
		return ErrUnavailable
	}
	return nil
}

// reopen is a new process's Store on a keychain holding items.
func reopen(t *testing.T, items map[string]string) (*Store, *vaulttest.MemoryBackend) {
	t.Helper()
	s, m := memStore(t)
	for k, v := range items {
		if err := m.Set(memService, k, v); err != nil {
			t.Fatal(err)
		}
	}
	return s, m
}

// TestReplaceCutShort: at every moment of a Replace (before each of its
// keychain writes) a load gives the old key or the new one, byte for byte,
// and never goes back to the old one once it gave the new; a Replace cut
// short at each write (every call from there on fails, as after a crash)
// leaves one of them, and the next command (List) removes the other's
// items.
func TestReplaceCutShort(t *testing.T) {
	for _, x509 := range []bool{false, true} {
		r := newRotation(t, x509)
		s, m := memStore(t)
		old := r.stored(t, s)
		l := &writeLog{m: m}
		m.Intercept(l.hook)
		if _, err := s.Replace(context.Background(), old, r.new, "new.json"); err != nil {
			t.Fatal(err)
		}
		m.Intercept(nil)
		snaps := append(l.snaps, m.Items(memService))
		if len(snaps) < 6 {
			t.Fatalf("a Replace of %d writes", len(snaps)-1)
		}
		sawNew := false
		for i, items := range snaps {
			isNew := loadsOneOf(t, items, r)
			if sawNew && !isNew {
				t.Errorf("write %d: the old key came back after the new one", i+1)
			}
			sawNew = sawNew || isNew
		}
		if !sawNew {
			t.Error("the new key was never loaded")
		}
		for k := 1; k < len(snaps); k++ {
			cutShort(t, r, k)
		}
		t.Logf("x509=%v: %d writes, each a crash point", x509, len(snaps)-1)
	}
}

// loadsOneOf loads the tenant's key from a new Store on items and reports
// whether it is the new key; anything but the old or new bytes fails.
func loadsOneOf(t *testing.T, items map[string]string, r rotation) (isNew bool) {
	t.Helper()
	s, _ := reopen(t, items)
	st, err := s.Load(context.Background(), r.old.Tenant)
	switch {
	case err != nil:
		t.Fatalf("load: %v", err)
	case bytes.Equal(st.Key.Bytes(), r.newFile):
		return true
	case !bytes.Equal(st.Key.Bytes(), r.oldFile):
		t.Fatal("load gave neither the old key nor the new one")
	}
	return false
}

// cutShort runs a Replace whose k-th write and everything after fail, then
// checks what the next process sees and leaves.
func cutShort(t *testing.T, r rotation, k int) {
	t.Helper()
	s, m := memStore(t)
	old := r.stored(t, s)
	l := &writeLog{m: m, failAt: k}
	m.Intercept(l.hook)
	_, err := s.Replace(context.Background(), old, r.new, "new.json")
	m.Intercept(nil)
	s2, m2 := reopen(t, m.Items(memService))
	isNew := loadsOneOf(t, m.Items(memService), r)
	if err != nil && isNew && !errors.Is(err, ErrUnavailable) {
		t.Errorf("crash at write %d: the new key is stored, but Replace said %v", k, err)
	}
	if _, err := s2.List(context.Background()); err != nil {
		t.Fatalf("crash at write %d: List: %v", k, err)
	}
	want := r.oldFile
	if isNew {
		want = r.newFile
	}
	assertClean(t, m2.Items(memService), r.old.Tenant, want)
}

// TestReplaceFailsOnce: one keychain error at any write of a Replace (the
// calls before and after it work) leaves the old key or the new one, and
// Replace says which: nil only when the new key is stored.
func TestReplaceFailsOnce(t *testing.T) {
	r := newRotation(t, true)
	for k := 1; ; k++ {
		s, m := memStore(t)
		old := r.stored(t, s)
		var mu sync.Mutex
		writes := 0
		m.Intercept(func(c vaulttest.Call) error {
			mu.Lock()
			defer mu.Unlock()
			if c.Op != vaulttest.OpGet {
				writes++
				if writes == k {
					return ErrUnavailable
				}
			}
			return nil
		})
		_, err := s.Replace(context.Background(), old, r.new, "")
		m.Intercept(nil)
		if writes < k {
			break // a Replace of fewer writes: every one was failed once
		}
		isNew := loadsOneOf(t, m.Items(memService), r)
		if isNew != (err == nil) {
			t.Errorf("failed write %d: new key stored %v, Replace said %v", k, isNew, err)
		}
		if _, err := s.List(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := r.oldFile
		if isNew {
			want = r.newFile
		}
		assertClean(t, m.Items(memService), r.old.Tenant, want)
	}
}

// TestReplaceTimeout: a deadline that passes while the new parts are
// written stops the Replace before the switch: ErrTimeout saying the key
// was not replaced, the old key stored and nothing of the new left. A
// manifest write that hangs past the deadline and its grace is ErrTimeout
// saying either key may be stored, and once it ends the key is whole.
func TestReplaceTimeout(t *testing.T) {
	r := newRotation(t, true)
	t.Run("before the switch", func(t *testing.T) {
		s, m := memStore(t)
		s.timeout = time.Minute
		old := r.stored(t, s)
		ctx := newDeadline()
		var sets atomic.Int32
		m.Intercept(func(c vaulttest.Call) error {
			if c.Op == vaulttest.OpSet && strings.Contains(c.User, "-b-part-") && sets.Add(1) == 1 {
				ctx.expire()
			}
			return nil
		})
		_, err := s.Replace(ctx, old, r.new, "")
		m.Intercept(nil)
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "was not replaced") {
			t.Fatalf("Replace: %v", err)
		}
		if f := errFacts(t, err); f.Left != LeftNotReplaced || f.Wait != time.Minute || f.Tenant != r.old.Tenant {
			t.Errorf("facts = %+v, want the key not replaced, a minute's wait, the tenant", f)
		}
		assertClean(t, m.Items(memService), r.old.Tenant, r.oldFile)
	})
	t.Run("switch hung", func(t *testing.T) {
		s, m := memStore(t)
		old := r.stored(t, s)
		s.timeout, s.grace = 50*time.Millisecond, 50*time.Millisecond
		gate := make(chan struct{})
		m.Intercept(func(c vaulttest.Call) error {
			if c.Op == vaulttest.OpSet && c.User == KeyItem(r.old.Tenant) {
				<-gate
			}
			return nil
		})
		_, err := s.Replace(context.Background(), old, r.new, "")
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "either key may be stored") {
			t.Errorf("Replace: %v", err)
		}
		if f := errFacts(t, err); f.Left != LeftEitherKey || f.Wait != 50*time.Millisecond || f.Tenant != r.old.Tenant {
			t.Errorf("facts = %+v, want either key, the wait, the tenant", f)
		}
		close(gate)
		m.Intercept(nil)
		s.timeout = 5 * time.Second
		// The Store's next call waits for the late one to end.
		if _, err := s.List(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !loadsOneOf(t, m.Items(memService), r) {
			t.Error("the switch that ended late did not leave the new key")
		}
		assertClean(t, m.Items(memService), r.old.Tenant, r.newFile)
	})
}
