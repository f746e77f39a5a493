package vault

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

func TestLockFile(t *testing.T) {
	want, err := LockFile("", "")
	if err != nil {
		t.Fatal(err)
	}
	// The lock follows the user and the keychain, not the environment:
	// cron, systemd units and sudo -E give one user other folders.
	for _, v := range []string{"HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "TMPDIR", "LOCALAPPDATA", "APPDATA", "USERPROFILE"} {
		t.Setenv(v, t.TempDir())
	}
	got, err := LockFile("", "")
	if err != nil {
		t.Fatal(err)
	}
	if got != want || filepath.Base(got) != "keychain-calmkey.lock" {
		t.Errorf("LockFile with other HOME, cache and runtime folders = %q, want %q", got, want)
	}
	seen := map[string]string{}
	long := strings.Repeat("x", 300)
	for _, service := range []string{"calmkey", "calmkey-test-1", "a/b", `a\\b`, "a%2Fb", "CON", "..", "ключ", "a b:c*?\"<>|", long, long + "y"} {
		p, err := LockFile("/locks", service)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		if filepath.Dir(p) != filepath.Clean("/locks") {
			t.Errorf("%q: lock %q is not in the folder", service, p)
		}
		if !strings.HasPrefix(name, "keychain-") || !strings.HasSuffix(name, ".lock") || len(name) > 160 {
			t.Errorf("%q: lock file name %q", service, name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.%~", r)) {
				t.Errorf("%q: lock file name %q holds %q", service, name, r)
			}
		}
		if other, ok := seen[name]; ok {
			t.Errorf("services %q and %q share the lock file %q", other, service, name)
		}
		seen[name] = service
	}
}

// racingSaves starts n Saves of different keys at once, each through its own
// Store (as separate processes have), on one keychain. Without the lock
// (noLock), each save's part waits until every save has come that far, so
// every one of them has checked that no key is stored before any writes:
// what an unguarded check-then-write lets happen, on any machine.
func racingSaves(t *testing.T, n int, noLock bool) (wins int, m *vaulttest.MemoryBackend) {
	t.Helper()
	m = vaulttest.NewMemoryBackend()
	if noLock {
		var arrived atomic.Int32
		all := make(chan struct{})
		m.Intercept(func(c vaulttest.Call) error {
			if c.Op == vaulttest.OpSet && strings.Contains(c.User, "-part-") {
				if arrived.Add(1) == int32(n) {
					close(all)
				}
				<-all
			}
			return nil
		})
	}
	dir := t.TempDir()
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := Open(Options{LockDir: dir, Backend: m, Service: memService, Timeout: 5 * time.Second})
		s.noLock = noLock
		key := mustParse(t, testkeys.SecretKey(testkeys.Fields{Secret: fmt.Sprintf("racing-secret-%02d-abcdefgh", i)}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Save(context.Background(), key, "")
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrAlreadyStored):
			t.Errorf("save %d: %v", i, err)
		}
	}
	return wins, m
}

func TestStoreLockOneWriterAtATime(t *testing.T) {
	// Without the lock the race is real (so the test can fail)...
	if wins, _ := racingSaves(t, 4, true); wins < 2 {
		t.Fatalf("without the lock %d saves won; the race this test guards against did not happen", wins)
	}
	// ...and with it exactly one save wins, and its key loads whole.
	wins, m := racingSaves(t, 4, false)
	if wins != 1 {
		t.Fatalf("%d saves won, want exactly 1", wins)
	}
	m.Intercept(nil)
	s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService})
	st, err := s.Load(context.Background(), testkeys.Tenant)
	if err != nil {
		t.Fatalf("Load after the race: %v", err)
	}
	if !strings.HasPrefix(st.Key.ClientSecret(), "racing-secret-") {
		t.Error("the stored key is none of the racers'")
	}
	checkItems(t, m.Items(memService), testkeys.Tenant)
}

// TestStoreLockBusy: a lock held elsewhere past the deadline is ErrBusy with
// the message the user acts on, and nothing is changed.
func TestStoreLockBusy(t *testing.T) {
	dir := t.TempDir()
	m := vaulttest.NewMemoryBackend()
	s := Open(Options{LockDir: dir, Backend: m, Service: memService, Timeout: 100 * time.Millisecond})
	ctx := context.Background()
	if err := s.Save(ctx, mustParse(t, secretKey(t)), "a.txt"); err != nil {
		t.Fatal(err)
	}
	path, err := LockFile(dir, memService)
	if err != nil {
		t.Fatal(err)
	}
	other := flock.New(path)
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	before := len(m.Calls())
	for op, f := range map[string]func() error{
		"Save":   func() error { return s.Save(ctx, mustParse(t, secretKey(t)), "") },
		"Delete": func() error { return s.Delete(ctx, testkeys.Tenant) },
		"Load":   func() error { _, err := s.Load(ctx, testkeys.Tenant); return err },
		"List":   func() error { _, err := s.List(ctx); return err },
	} {
		err := f()
		if !errors.Is(err, ErrBusy) || errors.Is(err, ErrTimeout) {
			t.Errorf("%s under another's lock: %v", op, err)
			continue
		}
		if err.Error() != "another calmkey is changing the key; try again" {
			t.Errorf("%s: message %q", op, err)
		}
	}
	if n := len(m.Calls()); n != before {
		t.Errorf("%d keychain calls were made without the lock", n-before)
	}
	// Stamp reads one item, which is whole at every moment: no lock.
	if st, err := s.Stamp(ctx); st == "" || err != nil {
		t.Errorf("Stamp under another's lock = %q, %v", st, err)
	}
	// A shared holder (another Load) lets Loads through but not writes.
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := other.TryRLock(); !ok || err != nil {
		t.Fatalf("RLock: %t %v", ok, err)
	}
	if _, err := s.Load(ctx, testkeys.Tenant); err != nil {
		t.Errorf("Load beside another Load: %v", err)
	}
	if err := s.Delete(ctx, testkeys.Tenant); !errors.Is(err, ErrBusy) {
		t.Errorf("Delete beside a Load: %v", err)
	}
	_ = other.Unlock()
	if err := s.Delete(ctx, testkeys.Tenant); err != nil {
		t.Errorf("Delete once the lock is free: %v", err)
	}
}

// TestStoreLockHeldUntilUndone: a timed-out save keeps the lock until its
// undo is done, so no other writer sees its leftovers.
func TestStoreLockHeldUntilUndone(t *testing.T) {
	dir := t.TempDir()
	m := vaulttest.NewMemoryBackend()
	s := Open(Options{LockDir: dir, Backend: m, Service: memService, Timeout: 50 * time.Millisecond})
	s.grace = 50 * time.Millisecond
	gate := make(chan struct{})
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpSet && c.User == KeyItem(testkeys.Tenant) {
			<-gate
		}
		return nil
	})
	if err := s.Save(context.Background(), mustParse(t, secretKey(t)), ""); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Save: %v", err)
	}
	path, _ := LockFile(dir, memService)
	probe := flock.New(path)
	if ok, err := probe.TryLock(); ok || err != nil {
		t.Fatalf("the lock was free while the late save was still out: %t %v", ok, err)
	}
	close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ok, err := probe.TryLockContext(ctx, time.Millisecond); !ok || err != nil {
		t.Fatalf("the lock stayed taken after the late save ended: %v", err)
	}
	defer probe.Unlock()
	if n := len(keyItems(m, memService)); n != 0 {
		t.Errorf("the lock was released with %d items still there", n)
	}
}

// BenchmarkKeychainLock is what one Save or Delete pays for the lock: take
// and release it, uncontended (compare with BenchmarkRoundTrip's tens of
// milliseconds).
func BenchmarkKeychainLock(b *testing.B) {
	s := Open(Options{Backend: vaulttest.NewMemoryBackend(), Service: memService, LockDir: b.TempDir()})
	ctx := context.Background()
	for b.Loop() {
		release, err := s.lock(ctx, lockWrite)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// TestStoreStamp: the stamp changes with every stored key, even the same
// key stored again, and is "" when nothing is stored.
func TestStoreStamp(t *testing.T) {
	s, _ := memStore(t)
	ctx := context.Background()
	stamp := func() string {
		t.Helper()
		st, err := s.Stamp(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := stamp(); st != "" {
		t.Fatalf("stamp with nothing stored: %q", st)
	}
	key := mustParse(t, secretKey(t))
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	if err := s.Save(ctx, key, "a.txt"); err != nil {
		t.Fatal(err)
	}
	first := stamp()
	if first == "" || stamp() != first {
		t.Fatalf("stamp of a stored key: %q, then %q", first, stamp())
	}
	if err := s.Delete(ctx, testkeys.Tenant); err != nil {
		t.Fatal(err)
	}
	if st := stamp(); st != "" {
		t.Errorf("stamp after the last key was deleted: %q", st)
	}
	now = now.Add(time.Second)
	if err := s.Save(ctx, key, "a.txt"); err != nil {
		t.Fatal(err)
	}
	if again := stamp(); again == "" || again == first {
		t.Errorf("the same key stored again has the stamp %q (before %q)", again, first)
	}
}
