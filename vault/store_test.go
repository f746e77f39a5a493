package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault/vaulttest"
	"github.com/zalando/go-keyring"
)

const memService = "calmkey-test-memory"

func memStore(t testing.TB) (*Store, *vaulttest.MemoryBackend) {
	t.Helper()
	m := vaulttest.NewMemoryBackend()
	return Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 2 * time.Second}), m
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// checkItems asserts the layout every saved key must have: the index
// listing tenant, tenant's manifest and parts 1..n, and every item ASCII
// and within the size limits. Other items belong to other tenants.
func checkItems(t *testing.T, items map[string]string, tenant string) (parts int) {
	t.Helper()
	it := itemsOf(tenant)
	man, ok := items[it.manifest]
	if !ok {
		t.Fatalf("no manifest among %d items", len(items))
	}
	m, err := decodeManifest(man, LayoutVersion)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	d, err := decodeIndexHead(items[IndexItem])
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	if d.Parts == 0 && !slices.Contains(d.Tenants, tenant) {
		t.Errorf("the index %v does not list %q", d.Tenants, tenant)
	}
	n := 0
	for user, v := range items {
		if !isASCII(user) || !isASCII(v) {
			t.Errorf("%s is not ASCII", user)
		}
		if len(v) > ChunkSize {
			t.Errorf("%s holds %d bytes, more than %d", user, len(v), ChunkSize)
		}
		if len(v) > vaulttest.WindowsSecretLimit {
			t.Errorf("%s holds %d bytes, more than Windows allows", user, len(v))
		}
		if strings.HasPrefix(user, it.prefix) {
			n++
		}
	}
	if n != m.Chunks {
		t.Errorf("%d parts for a manifest of %d", n, m.Chunks)
	}
	for i := 1; i <= m.Chunks; i++ {
		if _, ok := items[it.part(i)]; !ok {
			t.Errorf("part %d missing", i)
		}
		if i < m.Chunks && len(items[it.part(i)]) != ChunkSize {
			t.Errorf("part %d holds %d bytes; all but the last should be full", i, len(items[it.part(i)]))
		}
	}
	return m.Chunks
}

// keyItems are the items of a service but the index: what keys leave.
func keyItems(m *vaulttest.MemoryBackend, service string) map[string]string {
	items := m.Items(service)
	for user := range items {
		if user == IndexItem || strings.HasPrefix(user, IndexItem+"-") {
			delete(items, user)
		}
	}
	return items
}

// listed is the tenants List gives.
func listed(t *testing.T, s *Store) []string {
	t.Helper()
	sums, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, sum := range sums {
		names = append(names, sum.Tenant)
	}
	return names
}

func TestStoreRoundTrip(t *testing.T) {
	x509File, _ := x509Key(t, testkeys.RSAPKCS8)
	big := edit(t, secretKey(t), func(root, _ map[string]any) {
		// Worst case for the encoding: non-ASCII text, each byte escaped.
		root["notes"] = strings.Repeat("é", 30000)
	})
	tests := []struct {
		name, fileName, wantName string
		file                     []byte
		minParts                 int
	}{
		{"secret", "/home/me/Downloads/key.txt", "key.txt", secretKey(t), 1},
		{"secret with BOM and CRLF", `C:\Users\me\key (1).json`, "key (1).json", append([]byte("\xEF\xBB\xBF"), crlf(secretKey(t))...), 1},
		{"x509", "schlüssel-ключ-鍵-🔑.txt", "schlüssel-ключ-鍵-🔑.txt", x509File, 3},
		{"pasted", "", "", secretKey(t), 1},
		{"near 64 KiB, all escaped", "big.json", "big.json", big, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.file) > MaxFileSize {
				t.Fatalf("test key too big: %d", len(tt.file))
			}
			s, m := memStore(t)
			ctx := context.Background()
			key := mustParse(t, tt.file)
			before := time.Now().Add(-time.Second)
			if err := s.Save(ctx, key, tt.fileName); err != nil {
				t.Fatal(err)
			}
			if parts := checkItems(t, m.Items(memService), key.Tenant); parts < tt.minParts {
				t.Errorf("%d parts, want at least %d", parts, tt.minParts)
			}
			st, err := s.Load(ctx, key.Tenant)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(st.Key.Bytes(), tt.file) {
				t.Error("loaded bytes differ from the file")
			}
			if st.FileName != tt.wantName {
				t.Errorf("file name %q, want %q", st.FileName, tt.wantName)
			}
			if st.UploadedAt.Before(before) || st.UploadedAt.After(time.Now()) {
				t.Errorf("uploaded at %v", st.UploadedAt)
			}
			if st.Key.ClientID != key.ClientID || st.Key.CredentialType != key.CredentialType || st.Key.ClientSecret() != key.ClientSecret() {
				t.Errorf("loaded key %v, saved %v", st.Key, key)
			}
			sums, err := s.List(ctx)
			if err != nil || len(sums) != 1 {
				t.Fatalf("List = %v, %v", sums, err)
			}
			want := st.Summary()
			if got := sums[0]; !reflect.DeepEqual(got, want) {
				t.Errorf("List gives %+v, Load %+v", got, want)
			}
		})
	}
}

// TestStoreOneKeyPerTenant: a second key for a tenant that has one is
// refused, saying so, and changes nothing; another tenant's key is stored
// beside it; replacing is delete, then upload.
func TestStoreOneKeyPerTenant(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	first := mustParse(t, secretKey(t))
	second := mustParse(t, testkeys.SecretKey(testkeys.Fields{Secret: "another-secret-value-12345"}))
	if err := s.Save(ctx, first, "a.txt"); err != nil {
		t.Fatal(err)
	}
	before := m.Items(memService)
	err := s.Save(ctx, second, "b.txt")
	if !errors.Is(err, ErrAlreadyStored) {
		t.Fatalf("second save: %v", err)
	}
	if want := "tenant " + testkeys.Tenant + " already has a service key: delete it first"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if !maps.Equal(m.Items(memService), before) {
		t.Error("the refused save changed the stored items")
	}
	st, err := s.Load(ctx, testkeys.Tenant)
	if err != nil || st.Key.ClientSecret() != testkeys.Secret || st.FileName != "a.txt" {
		t.Fatalf("stored key changed: %v", err)
	}
	other := mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-prod", Secret: "third-secret-value-12345"}))
	if err := s.Save(ctx, other, "c.txt"); err != nil {
		t.Fatalf("another tenant's key: %v", err)
	}
	if got := listed(t, s); !slices.Equal(got, []string{testkeys.Tenant, "acme-prod"}) {
		t.Errorf("List: %q", got)
	}
	// Replacing is delete, then upload.
	if err := s.Delete(ctx, testkeys.Tenant); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, second, "b.txt"); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(ctx, testkeys.Tenant); err != nil || st.Key.ClientSecret() != "another-secret-value-12345" {
		t.Fatalf("replaced key: %v", err)
	}
	if st, err := s.Load(ctx, "acme-prod"); err != nil || st.Key.ClientSecret() != "third-secret-value-12345" {
		t.Fatalf("the other tenant's key: %v", err)
	}
}

func TestStoreNothingStored(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	_, err := s.Load(ctx, testkeys.Tenant)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), testkeys.Tenant) {
		t.Errorf("Load: %v", err)
	}
	if _, err := s.Load(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load of no tenant: %v", err)
	}
	if err := s.Delete(ctx, testkeys.Tenant); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete: %v", err)
	}
	if err := s.Delete(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of no tenant: %v", err)
	}
	if got := listed(t, s); len(got) != 0 {
		t.Errorf("List = %q", got)
	}
	if err := s.Save(ctx, nil, ""); err == nil || errors.Is(err, ErrAlreadyStored) {
		t.Errorf("Save(nil): %v", err)
	}
	if err := s.Save(ctx, &Key{}, ""); err == nil {
		t.Error("Save of a zero Key succeeded")
	}
	if len(m.Items(memService)) != 0 {
		t.Error("items appeared")
	}
}

// TestStoreDeleteOrder: manifest first, then the index, then the parts
// from the last down, then the leftovers of earlier failures; other
// tenants' items and other services' stay byte for byte.
func TestStoreDeleteOrder(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	file, _ := x509Key(t, testkeys.ECDSA)
	if err := s.Save(ctx, mustParse(t, file), "k.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-prod"})), ""); err != nil {
		t.Fatal(err)
	}
	it := itemsOf(testkeys.Tenant)
	parts := checkItems(t, m.Items(memService), testkeys.Tenant)
	// Leftovers of an earlier, bigger save whose rollback failed.
	for i := parts + 1; i <= parts+3; i++ {
		if err := m.Set(memService, it.part(i), "orphan"); err != nil {
			t.Fatal(err)
		}
	}
	_ = m.Set("someone-else", it.manifest, "theirs")
	others := keyItems(m, memService)
	maps.DeleteFunc(others, func(user, _ string) bool { return strings.HasPrefix(user, it.manifest) })
	start := len(m.Calls())
	if err := s.Delete(ctx, testkeys.Tenant); err != nil {
		t.Fatal(err)
	}
	if got := keyItems(m, memService); !maps.Equal(got, others) {
		t.Errorf("after the delete the other items are %d, want the other tenant's %d, byte for byte", len(got), len(others))
	}
	if len(m.Items("someone-else")) != 1 {
		t.Error("the delete removed another service's item")
	}
	var writes []string
	for _, c := range m.Calls()[start:] {
		if c.Op != vaulttest.OpGet {
			writes = append(writes, string(c.Op)+" "+c.User)
		}
	}
	want := []string{"delete " + it.manifest, "set " + IndexItem}
	for i := parts + 3 + parallelWidth; i >= 1; i-- {
		if i > parts {
			continue
		}
		want = append(want, "delete "+it.part(i))
	}
	for i := parts + 1; i <= parts+3+parallelWidth; i++ {
		want = append(want, "delete "+it.part(i))
	}
	if fmt.Sprint(writes) != fmt.Sprint(want) {
		t.Errorf("writes %v,\nwant %v", writes, want)
	}
	if got := listed(t, s); !slices.Equal(got, []string{"acme-prod"}) {
		t.Errorf("List after the delete: %q", got)
	}
}

// TestStoreSweepOrphans: parts without a manifest (a save that failed and
// could not roll back, with the gaps parallel writes leave) are removed by
// the next Delete of their tenant, which says nothing was stored.
func TestStoreSweepOrphans(t *testing.T) {
	s, m := memStore(t)
	for _, i := range []int{1, 2, 4, 5, 6, 8} {
		_ = m.Set(memService, PartItem(testkeys.Tenant, i), "orphan")
	}
	if err := s.Delete(context.Background(), testkeys.Tenant); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete: %v", err)
	}
	if n := len(m.Items(memService)); n != 0 {
		t.Errorf("%d orphans left", n)
	}
}

func TestStoreCorrupt(t *testing.T) {
	file, _ := x509Key(t, testkeys.ECDSA)
	tests := []struct {
		name   string
		damage func(m *vaulttest.MemoryBackend)
		why    string
	}{
		{"tampered part", func(m *vaulttest.MemoryBackend) {
			v, _ := m.Get(memService, PartItem(testkeys.Tenant, 2))
			c := byte('x')
			if v[10] == c {
				c = 'y'
			}
			_ = m.Set(memService, PartItem(testkeys.Tenant, 2), v[:10]+string(c)+v[11:])
		}, "checksum"},
		{"truncated part", func(m *vaulttest.MemoryBackend) {
			v, _ := m.Get(memService, PartItem(testkeys.Tenant, 1))
			_ = m.Set(memService, PartItem(testkeys.Tenant, 1), v[:len(v)-1])
		}, "checksum"},
		{"missing part", func(m *vaulttest.MemoryBackend) { _ = m.Delete(memService, PartItem(testkeys.Tenant, 2)) }, "part 2 of"},
		{"missing first part", func(m *vaulttest.MemoryBackend) { _ = m.Delete(memService, PartItem(testkeys.Tenant, 1)) }, "part 1 of"},
		{"broken escape", func(m *vaulttest.MemoryBackend) { _ = m.Set(memService, PartItem(testkeys.Tenant, 1), "%G0") }, "not ours"},
		{"manifest not JSON", func(m *vaulttest.MemoryBackend) { _ = m.Set(memService, KeyItem(testkeys.Tenant), "{") }, "manifest cannot be read"},
		{"manifest of another format", func(m *vaulttest.MemoryBackend) { _ = m.Set(memService, KeyItem(testkeys.Tenant), `{"format":"x"}`) }, "not calmkey's"},
		{"manifest from the future", func(m *vaulttest.MemoryBackend) {
			_ = m.Set(memService, KeyItem(testkeys.Tenant), `{"format":"calmkey-service-key","version":9}`)
		}, "version 9"},
		{"manifest with impossible count", func(m *vaulttest.MemoryBackend) {
			man, _ := m.Get(memService, KeyItem(testkeys.Tenant))
			_ = m.Set(memService, KeyItem(testkeys.Tenant), strings.Replace(man, `"chunks":`, `"chunks":1000`, 1))
		}, "impossible"},
		{"checksum right, key invalid", func(m *vaulttest.MemoryBackend) {
			bad := edit(t, secretKey(t), func(_, uaa map[string]any) { delete(uaa, "clientid") })
			k := &Key{Tenant: testkeys.Tenant, sec: func() *secrets { return &secrets{raw: bad} }}
			s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService})
			_ = s.Delete(context.Background(), testkeys.Tenant)
			if err := s.Save(context.Background(), k, ""); err != nil {
				t.Fatal(err)
			}
		}, "format check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, m := memStore(t)
			ctx := context.Background()
			key := mustParse(t, file)
			if err := s.Save(ctx, key, "k.txt"); err != nil {
				t.Fatal(err)
			}
			tt.damage(m)
			_, err := s.Load(ctx, testkeys.Tenant)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load: %v", err)
			}
			if !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), "tenant "+testkeys.Tenant) || !strings.Contains(err.Error(), "delete it and upload the key file again") {
				t.Errorf("message: %v", err)
			}
			assertNoSecret(t, "corrupt error", err.Error(), secretParts(key))
			// List shows the tenant, damaged or not (a damaged manifest
			// with Err).
			if sums, err := s.List(ctx); err != nil || len(sums) != 1 || sums[0].Tenant != testkeys.Tenant {
				t.Errorf("List of a damaged key: %+v, %v", sums, err)
			}
			// What the user is told to do must work.
			if err := s.Delete(ctx, testkeys.Tenant); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if n := len(keyItems(m, memService)); n != 0 {
				t.Errorf("%d items left after delete", n)
			}
			if got := listed(t, s); len(got) != 0 {
				t.Errorf("List after delete: %q", got)
			}
		})
	}
}

// TestStoreFailedSaveLeavesNothing: a failure at any write rolls back, and
// when the rollback fails too, the leftovers stay invisible until the next
// delete sweeps them. The 4th Set is the manifest, the 5th the index.
func TestStoreFailedSaveLeavesNothing(t *testing.T) {
	file, _ := x509Key(t, testkeys.RSAPKCS1) // several parts
	for _, failAt := range []int{1, 2, 3, 4, 5} {
		for _, rollbackFails := range []bool{false, true} {
			t.Run(fmt.Sprintf("set %d, rollback fails %t", failAt, rollbackFails), func(t *testing.T) {
				s, m := memStore(t)
				ctx := context.Background()
				key := mustParse(t, file)
				if n := len(split(encodePercent(key.Bytes()), ChunkSize)); n != 3 {
					t.Fatalf("test key has %d parts, want 3", n)
				}
				var sets atomic.Int32
				m.Intercept(func(c vaulttest.Call) error {
					if c.Op == vaulttest.OpSet && sets.Add(1) == int32(failAt) {
						return errors.New("disk full")
					}
					if c.Op == vaulttest.OpDelete && rollbackFails {
						return errors.New("still broken")
					}
					return nil
				})
				err := s.Save(ctx, key, "k.txt")
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("Save: %v", err)
				}
				m.Intercept(nil)
				if got := listed(t, s); len(got) != 0 {
					t.Errorf("half-written key listed: %q", got)
				}
				left := len(keyItems(m, memService))
				if !rollbackFails && left != 0 {
					t.Errorf("rollback left %d items", left)
				}
				if _, err := s.Load(ctx, testkeys.Tenant); !errors.Is(err, ErrNotFound) && !(rollbackFails && failAt == 5 && err == nil) {
					// Only a manifest the rollback could not remove is a key:
					// whole (its parts came first), and listed by this Load.
					t.Errorf("half-written key visible: Load: %v", err)
				}
				if err := s.Delete(ctx, testkeys.Tenant); err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("Delete: %v", err)
				}
				if n := len(keyItems(m, memService)); n != 0 {
					t.Errorf("sweep left %d items", n)
				}
				// And a clean save works afterwards.
				if err := s.Save(ctx, key, "k.txt"); err != nil {
					t.Fatal(err)
				}
				checkItems(t, m.Items(memService), testkeys.Tenant)
			})
		}
	}
}

func TestStoreUnavailable(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	key := mustParse(t, secretKey(t))
	cause := fmt.Errorf("%w: org.freedesktop.DBus.Error.ServiceUnknown", ErrUnavailable)
	m.FailOn("", cause)
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s: %v", op, err)
		}
		msg := err.Error()
		name, what := keychainHelp(runtime.GOOS)
		for _, want := range []string{"cannot be reached", name, what, "ServiceUnknown"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message lacks %q: %s", op, want, msg)
			}
		}
		if strings.Count(msg, "cannot be reached") != 1 {
			t.Errorf("message repeats itself: %s", msg)
		}
		assertNoSecret(t, op, msg, secretParts(key))
	}
	check("Save", s.Save(ctx, key, ""))
	_, err := s.Load(ctx, testkeys.Tenant)
	check("Load", err)
	check("Delete", s.Delete(ctx, testkeys.Tenant))
	_, err = s.List(ctx)
	check("List", err)
	_, err = s.Stamp(ctx)
	check("Stamp", err)
	// Any other keychain failure is "unavailable" too.
	m.FailOn(vaulttest.OpGet, errors.New("org.freedesktop.Secret.Error.IsLocked"))
	_, err = s.Load(ctx, testkeys.Tenant)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "IsLocked") {
		t.Errorf("locked: %v", err)
	}
}

// TestKeychainHelp: each OS's message names its keychain as its users know
// it and says what to do, whichever OS the test runs on.
func TestKeychainHelp(t *testing.T) {
	for goos, want := range map[string][]string{
		"linux":   {"Secret Service", "GNOME Keyring", "KeePassXC's Secret Service integration"},
		"darwin":  {"login keychain", "Keychain Access"},
		"windows": {"Windows Credential Manager", "logged on to with your password", "scheduled task", "Control Panel > Credential Manager"},
	} {
		name, what := keychainHelp(goos)
		for _, w := range want {
			if !strings.Contains(name+"; "+what, w) {
				t.Errorf("%s: %q; %q lacks %q", goos, name, what, w)
			}
		}
		if !strings.HasSuffix(what, "try again") {
			t.Errorf("%s: %q does not end in what to do next", goos, what)
		}
	}
}

func TestStoreTimeout(t *testing.T) {
	ctx := context.Background()
	key := mustParse(t, secretKey(t))
	for _, op := range []vaulttest.Op{vaulttest.OpGet, vaulttest.OpSet} {
		t.Run(string(op), func(t *testing.T) {
			m := vaulttest.NewMemoryBackend()
			s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 100 * time.Millisecond})
			s.grace = 50 * time.Millisecond
			release := m.Hang(op)
			defer release()
			var err error
			start := time.Now()
			if op == vaulttest.OpGet {
				_, err = s.Load(ctx, testkeys.Tenant)
			} else {
				err = s.Save(ctx, key, "")
			}
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("%v after %v", err, time.Since(start))
			}
			if !strings.Contains(err.Error(), "100ms") || !strings.Contains(err.Error(), "unlock") {
				t.Errorf("message: %v", err)
			}
			// While the hung call is out, the next call waits its turn and
			// times out too instead of interleaving.
			if _, err := s.List(ctx); !errors.Is(err, ErrTimeout) {
				t.Errorf("second call: %v", err)
			}
			release()
			s.timeout = 5 * time.Second
			if err := s.Save(ctx, key, ""); err != nil {
				t.Fatalf("after release: %v", err)
			}
			if _, err := s.Load(ctx, testkeys.Tenant); err != nil {
				t.Fatalf("after release: %v", err)
			}
		})
	}
}

// TestStoreLateSaveIsUndone: the caller is told "timeout" only once the
// late write has ended and been undone, so nothing is left when Save
// returns. The keychain holds the save's last write until Save has stopped
// waiting for it at the deadline, then lets it succeed.
func TestStoreLateSaveIsUndone(t *testing.T) {
	m := vaulttest.NewMemoryBackend()
	s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: time.Minute})
	s.grace = time.Hour // the late write always ends within it
	ctx := newDeadline()
	abandoned := make(chan struct{})
	s.abandoned = func() { close(abandoned) }
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpSet && c.User == IndexItem {
			ctx.expire()
			<-abandoned
		}
		return nil
	})
	err := s.Save(ctx, mustParse(t, secretKey(t)), "")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Save: %v", err)
	}
	if !strings.Contains(err.Error(), "nothing was stored") {
		t.Errorf("message does not say nothing was stored: %v", err)
	}
	if f := errFacts(t, err); f.Left != LeftNothingStored || f.Wait != time.Minute {
		t.Errorf("facts = %+v, want nothing stored after a minute", f)
	}
	// Checked at once, not after waiting: Save returned after the undo.
	if n := len(m.Items(memService)); n != 0 {
		t.Errorf("%d items left when Save returned", n)
	}
	m.Intercept(nil)
	if got := listed(t, s); len(got) != 0 {
		t.Fatalf("List = %q", got)
	}
}

// TestStoreTimeoutPartsUndone: a deadline that passes between the parts
// stops the save; what it wrote is removed before Save returns.
func TestStoreTimeoutPartsUndone(t *testing.T) {
	m := vaulttest.NewMemoryBackend()
	s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: time.Minute})
	s.grace = time.Hour
	ctx := newDeadline()
	var sets atomic.Int32
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpSet && sets.Add(1) == 2 {
			ctx.expire() // the deadline passes during the second part
		}
		return nil
	})
	file, _ := x509Key(t, testkeys.RSAPKCS1)
	big := edit(t, file, func(root, _ map[string]any) { root["notes"] = strings.Repeat("n", 20000) })
	key := mustParse(t, big)
	err := s.Save(ctx, key, "")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Save: %v", err)
	}
	if n := len(m.Items(memService)); n != 0 {
		t.Errorf("%d items left when Save returned", n)
	}
	if n, all := int(sets.Load()), len(split(encodePercent(key.Bytes()), ChunkSize)); n < 2 || n >= all {
		t.Errorf("%d of %d parts were written; want the save stopped between them", n, all)
	}
}

// TestStoreTimeoutStillHung: a write that has not ended WriteGrace after the
// deadline is reported as possibly partial, with what to do.
func TestStoreTimeoutStillHung(t *testing.T) {
	m := vaulttest.NewMemoryBackend()
	s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 50 * time.Millisecond})
	s.grace = 100 * time.Millisecond
	gate := make(chan struct{})
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpSet && c.User == KeyItem(testkeys.Tenant) {
			<-gate
		}
		return nil
	})
	err := s.Save(context.Background(), mustParse(t, secretKey(t)), "")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Save: %v", err)
	}
	for _, want := range []string{"may hold a partial key", "run calmkeyctl delete", "100ms later"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if f := errFacts(t, err); f.Left != LeftPartialKey || f.Wait != 50*time.Millisecond || f.Grace != 100*time.Millisecond {
		t.Errorf("facts = %+v, want a partial key, the wait and the grace", f)
	}
	// Once the keychain answers, the late write is undone all the same.
	close(gate)
	m.Intercept(nil)
	s.timeout = 5 * time.Second
	if got := listed(t, s); len(got) != 0 {
		t.Fatalf("List = %q", got)
	}
	if n := len(keyItems(m, memService)); n != 0 {
		t.Errorf("%d items left after the late write ended", n)
	}
}

// TestStoreLateDeleteFinishes: a delete that has removed the manifest
// finishes past the deadline instead of leaving parts, and says so. The
// keychain holds its first delete until Delete has stopped waiting at the
// deadline.
func TestStoreLateDeleteFinishes(t *testing.T) {
	s, m := memStore(t)
	file, _ := x509Key(t, testkeys.RSAPKCS1)
	if err := s.Save(context.Background(), mustParse(t, file), ""); err != nil {
		t.Fatal(err)
	}
	s.timeout, s.grace = time.Minute, time.Hour
	ctx := newDeadline()
	abandoned := make(chan struct{})
	s.abandoned = func() { close(abandoned) }
	var once sync.Once
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpDelete {
			once.Do(func() { ctx.expire(); <-abandoned })
		}
		return nil
	})
	if err := s.Delete(ctx, testkeys.Tenant); err != nil {
		t.Fatalf("Delete that ended within the grace: %v", err)
	}
	select {
	case <-abandoned:
	default:
		t.Fatal("the delete ended before its deadline; the test proves nothing")
	}
	if n := len(keyItems(m, memService)); n != 0 {
		t.Errorf("%d items left", n)
	}
}

func TestStoreContext(t *testing.T) {
	s, m := memStore(t)
	release := m.Hang(vaulttest.OpGet)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := s.Load(ctx, testkeys.Tenant); !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("cancelled: %v", err)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.Load(ctx, testkeys.Tenant); !errors.Is(err, ErrTimeout) {
		t.Errorf("caller's deadline: %v", err)
	}
}

// TestStoreTooBigIsABug: a backend that refuses our parts says so plainly.
func TestStoreTooBigIsABug(t *testing.T) {
	m := vaulttest.NewMemoryBackend()
	m.Limit = 100
	s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService})
	err := s.Save(context.Background(), mustParse(t, secretKey(t)), "")
	if err == nil || errors.Is(err, ErrUnavailable) || !errors.Is(err, keyring.ErrSetDataTooBig) {
		t.Fatalf("Save: %v", err)
	}
	if n := len(m.Items(memService)); n != 0 {
		t.Errorf("%d items left", n)
	}
}

func TestEncodePercent(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	enc := encodePercent(all)
	if !isASCII(enc) {
		t.Fatal("not ASCII")
	}
	dec, err := decodePercent(enc)
	if err != nil || !bytes.Equal(dec, all) {
		t.Fatalf("round trip: %v", err)
	}
	if got := encodePercent([]byte("a%b\r\n\xEF")); got != "a%25b\r\n%EF" {
		t.Errorf("encoded %q", got)
	}
	for _, bad := range []string{"%", "%4", "%zz", "é"} {
		if _, err := decodePercent(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

// errFacts is err's ErrorFacts, which the window words in German.
func errFacts(t *testing.T, err error) ErrorFacts {
	t.Helper()
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("%v is not a vault.Error", err)
	}
	return ve.Facts()
}

// TestErrorFactsUnavailableAndCorrupt: the facts an unreachable keychain's
// and a damaged key's texts hold are there as values too.
func TestErrorFactsUnavailableAndCorrupt(t *testing.T) {
	s, _ := memStore(t)
	cause := fmt.Errorf("%w: %w", ErrUnavailable, errors.New("org.freedesktop.DBus.Error.ServiceUnknown"))
	err := s.backendErr(cause)
	if f := errFacts(t, err); f.Detail != "org.freedesktop.DBus.Error.ServiceUnknown" || !strings.Contains(err.Error(), "("+f.Detail+")") {
		t.Errorf("facts = %+v of %q, want the keychain's own error as Detail", f, err)
	}
	if f := errFacts(t, s.backendErr(ErrUnavailable)); f.Detail != "" {
		t.Errorf("Detail = %q for no cause of its own", f.Detail)
	}
	if f := errFacts(t, corrupt("acme", "bad JSON")); f.Tenant != "acme" {
		t.Errorf("corrupt facts = %+v, want the tenant", f)
	}
}
