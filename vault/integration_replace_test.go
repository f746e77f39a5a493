package vault

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/zalando/go-keyring"
)

// crashBackend is the real keychain until its n-th write: that write and
// every call after it fail, as for a process killed at that moment (the
// writes it had made stay, the ones it was making do not happen).
type crashBackend struct {
	Backend
	mu     sync.Mutex
	n      int // 0: never
	writes int
}

func (c *crashBackend) dead(write bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write {
		c.writes++
	}
	return c.n > 0 && c.writes >= c.n
}

func (c *crashBackend) Get(service, user string) (string, error) {
	if c.dead(false) {
		return "", ErrUnavailable
	}
	return c.Backend.Get(service, user)
}

func (c *crashBackend) Set(service, user, secret string) error {
	if c.dead(true) {
		return ErrUnavailable
	}
	return c.Backend.Set(service, user, secret)
}

func (c *crashBackend) Delete(service, user string) error {
	if c.dead(true) {
		return ErrUnavailable
	}
	return c.Backend.Delete(service, user)
}

// rawBothSets reads tenant's items of service straight through go-keyring:
// the index, the manifest, and parts 1..most of both part sets.
func rawBothSets(t *testing.T, service, tenant string, most int) map[string]string {
	t.Helper()
	items := map[string]string{}
	it := itemsOf(tenant)
	users := []string{IndexItem, it.manifest}
	for _, set := range []string{partSetA, partSetB} {
		for i := 1; i <= most; i++ {
			users = append(users, it.inSet(set).part(i))
		}
	}
	for _, user := range users {
		v, err := keyring.Get(service, user)
		switch {
		case err == nil:
			items[user] = v
		case !errors.Is(err, keyring.ErrNotFound):
			t.Fatalf("raw read of %s: %v", user, err)
		}
	}
	return items
}

// TestKeychainReplace: on the real keychain a Replace swaps the key and
// leaves nothing of the old one; cut short at each of its writes, the next
// process loads the old key or the new one, byte for byte, and its next
// command leaves the keychain holding that key alone.
func TestKeychainReplace(t *testing.T) {
	harness.Require(t)
	ctx := context.Background()
	r := newRotation(t, true)
	most := 2 * len(split(encodePercent(r.oldFile), ChunkSize))
	service := testService(t)
	s := Open(Options{Service: service, Timeout: time.Minute})
	old := r.stored(t, s)
	if _, err := s.Replace(ctx, old, r.new, "new.json"); err != nil {
		t.Fatal(err)
	}
	st, err := Open(Options{Service: service}).Load(ctx, r.old.Tenant)
	if err != nil || string(st.Key.Bytes()) != string(r.newFile) {
		t.Fatalf("after Replace a new process loads %v (or other bytes)", err)
	}
	assertClean(t, rawBothSets(t, service, r.old.Tenant, most), r.old.Tenant, r.newFile)
	if err := s.Delete(ctx, r.old.Tenant); err != nil {
		t.Fatal(err)
	}
	counts := map[bool]int{}
	for k := 1; ; k++ {
		service := testService(t)
		crash := &crashBackend{Backend: KeyringBackend{}}
		s := Open(Options{Service: service, Backend: crash, Timeout: time.Minute})
		old := r.stored(t, s)
		crash.mu.Lock()
		crash.n, crash.writes = k, 0
		crash.mu.Unlock()
		_, rerr := s.Replace(ctx, old, r.new, "new.json")
		if rerr == nil && !crash.dead(false) {
			t.Logf("a Replace of %d writes, cut short after each: old %d, new %d", k-1, counts[false], counts[true])
			break
		}
		next := Open(Options{Service: service, Timeout: time.Minute})
		st, err := next.Load(ctx, r.old.Tenant)
		if err != nil {
			t.Fatalf("cut short at write %d: the next process loads %v", k, err)
		}
		isNew := string(st.Key.Bytes()) == string(r.newFile)
		if !isNew && string(st.Key.Bytes()) != string(r.oldFile) {
			t.Fatalf("cut short at write %d: neither key loads", k)
		}
		counts[isNew]++
		if _, err := next.List(ctx); err != nil {
			t.Fatal(err)
		}
		want := r.oldFile
		if isNew {
			want = r.newFile
		}
		assertClean(t, rawBothSets(t, service, r.old.Tenant, most), r.old.Tenant, want)
	}
	if counts[false] == 0 || counts[true] == 0 {
		t.Errorf("crash points gave old %d, new %d times; want both", counts[false], counts[true])
	}
}
