package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// Tests of several tenants (issue 11): the layout, moving a key of layout
// 1, crashes at every keychain call, names of every kind.

// v1Fixture is a key as calmkey's layout-1 Store wrote it (testdata/v1-*.json,
// made by the Save of main at 3e23b2c on a MemoryBackend): the raw items and
// the file that was uploaded.
type v1Fixture struct {
	Service  string            `json:"service"`
	Tenant   string            `json:"tenant"`
	FileName string            `json:"fileName"`
	File     string            `json:"file"`
	Items    map[string]string `json:"items"`
}

func loadV1(t testing.TB, name string) v1Fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1-"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f v1Fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Items) < 2 || f.Items[LegacyKeyItem] == "" || f.Tenant == "" {
		t.Fatalf("fixture %s holds no layout-1 key", name)
	}
	return f
}

// put writes the fixture's items under service, as layout 1 left them.
func (f v1Fixture) put(t testing.TB, b Backend, service string) {
	t.Helper()
	for user, v := range f.Items {
		if err := b.Set(service, user, v); err != nil {
			t.Fatal(err)
		}
	}
}

// checkMoved asserts that the fixture's key is stored in layout 2 and
// nothing of layout 1 is left: Load gives the uploaded bytes, file name and
// upload time; List shows it.
func (f v1Fixture) checkMoved(t *testing.T, s *Store, m *vaulttest.MemoryBackend) {
	t.Helper()
	ctx := context.Background()
	st, err := s.Load(ctx, f.Tenant)
	if err != nil {
		t.Fatalf("Load after the move: %v", err)
	}
	if !bytes.Equal(st.Key.Bytes(), []byte(f.File)) {
		t.Error("the moved key's bytes differ from the file uploaded to layout 1")
	}
	if want := baseName(f.FileName); st.FileName != want {
		t.Errorf("file name %q, want %q", st.FileName, want)
	}
	var m1 manifest
	if err := json.Unmarshal([]byte(f.Items[LegacyKeyItem]), &m1); err != nil {
		t.Fatal(err)
	}
	if !st.UploadedAt.Equal(m1.UploadedAt) {
		t.Errorf("uploaded at %v, layout 1 said %v", st.UploadedAt, m1.UploadedAt)
	}
	if got := listed(t, s); !slices.Equal(got, []string{f.Tenant}) {
		t.Errorf("List after the move: %q", got)
	}
	if m != nil {
		for user := range m.Items(s.service) {
			if strings.HasPrefix(user, LegacyKeyItem) {
				t.Errorf("item %s of layout 1 is left", user)
			}
		}
		checkItems(t, m.Items(s.service), f.Tenant)
	}
}

// TestMigrateV1 moves the fixture keys with each kind of first call.
func TestMigrateV1(t *testing.T) {
	for _, name := range []string{"secret", "x509"} {
		f := loadV1(t, name)
		for first, call := range map[string]func(s *Store) error{
			"Load": func(s *Store) error { _, err := s.Load(context.Background(), f.Tenant); return err },
			"List": func(s *Store) error { _, err := s.List(context.Background()); return err },
			"Save of another tenant": func(s *Store) error {
				return s.Save(context.Background(), mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "zz-other"})), "")
			},
			"Save of the same tenant": func(s *Store) error {
				err := s.Save(context.Background(), mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: f.Tenant})), "")
				if !errors.Is(err, ErrAlreadyStored) {
					return fmt.Errorf("a second key of the moved tenant: %v", err)
				}
				return nil
			},
		} {
			t.Run(name+"/"+first, func(t *testing.T) {
				s, m := memStore(t)
				f.put(t, m, memService)
				stamp, err := s.Stamp(context.Background())
				if err != nil || stamp == "" {
					t.Fatalf("Stamp of a layout-1 key: %q, %v", stamp, err)
				}
				if err := call(s); err != nil {
					t.Fatal(err)
				}
				if after, _ := s.Stamp(context.Background()); after == stamp || after == "" {
					t.Errorf("Stamp did not change with the move: %q", after)
				}
				if strings.HasPrefix(first, "Save of another") {
					// Moved beside the new key.
					if err := s.Delete(context.Background(), "zz-other"); err != nil {
						t.Fatal(err)
					}
				}
				f.checkMoved(t, s, m)
			})
		}
	}
	// Delete of the moved tenant as the first call: moved, then deleted.
	f := loadV1(t, "x509")
	s, m := memStore(t)
	f.put(t, m, memService)
	if err := s.Delete(context.Background(), f.Tenant); err != nil {
		t.Fatal(err)
	}
	if n := len(keyItems(m, memService)); n != 0 {
		t.Errorf("%d items left: %v", n, slices.Sorted(maps.Keys(keyItems(m, memService))))
	}
}

// crashAfter makes the backend fail every call from the nth on (1-based),
// as if the process had died just before it; the failure counts too.
func crashAfter(m *vaulttest.MemoryBackend, n int) (calls *atomic.Int32) {
	calls = new(atomic.Int32)
	m.Intercept(func(c vaulttest.Call) error {
		if calls.Add(1) >= int32(n) {
			return errors.New("crashed")
		}
		return nil
	})
	return calls
}

// failOne makes only the nth call fail, as a keychain that fails once.
func failOne(m *vaulttest.MemoryBackend, n int) (calls *atomic.Int32) {
	calls = new(atomic.Int32)
	m.Intercept(func(c vaulttest.Call) error {
		if calls.Add(1) == int32(n) {
			return errors.New("failed once")
		}
		return nil
	})
	return calls
}

// TestMigrateCrashAtEveryCall: a move cut short at any keychain call (a
// crash: that call and all after it fail; or a single failure) leaves the
// key readable, in layout 1 or 2, and the next Store finishes the move.
func TestMigrateCrashAtEveryCall(t *testing.T) {
	for _, name := range []string{"secret", "x509"} {
		f := loadV1(t, name)
		// How many calls a whole move takes, as its first List.
		s, m := memStore(t)
		f.put(t, m, memService)
		start := len(m.Calls())
		if _, err := s.List(context.Background()); err != nil {
			t.Fatal(err)
		}
		total := len(m.Calls()) - start
		if total < 8 {
			t.Fatalf("a move took only %d calls", total)
		}
		for n := 1; n <= total; n++ {
			for kind, inject := range map[string]func(*vaulttest.MemoryBackend, int) *atomic.Int32{"crash": crashAfter, "failure": failOne} {
				t.Run(fmt.Sprintf("%s/%s at call %d of %d", name, kind, n, total), func(t *testing.T) {
					s, m := memStore(t)
					f.put(t, m, memService)
					inject(m, n)
					_, _ = s.List(context.Background())
					m.Intercept(nil)
					// A new process: the key reads whole, in one layout or the
					// other, and the move is done.
					again := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 2 * time.Second})
					f.checkMoved(t, again, m)
				})
			}
		}
	}
}

// TestMigrateDamagedV1: a damaged key of layout 1 is not moved or deleted;
// every call reports it, naming the earlier calmkey, until Delete(ctx, "")
// removes it. Then the store works.
func TestMigrateDamagedV1(t *testing.T) {
	f := loadV1(t, "x509")
	s, m := memStore(t)
	f.put(t, m, memService)
	part := f.Items[LegacyPartItem(2)]
	_ = m.Set(memService, LegacyPartItem(2), part[:len(part)-1])
	before := m.Items(memService)
	ctx := context.Background()
	key := mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-new"}))
	_, lerr := s.Load(ctx, f.Tenant)
	_, listErr := s.List(ctx)
	for op, err := range map[string]error{"Load": lerr, "List": listErr, "Save": s.Save(ctx, key, ""), "Delete of a tenant": s.Delete(ctx, "acme-new")} {
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "stored by an earlier calmkey") || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("%s with a damaged layout-1 key: %v", op, err)
		}
	}
	if !maps.Equal(m.Items(memService), before) {
		t.Error("the damaged key was changed")
	}
	if err := s.Delete(ctx, ""); err != nil {
		t.Fatalf("Delete(ctx, \"\"): %v", err)
	}
	if n := len(m.Items(memService)); n != 0 {
		t.Errorf("%d items left", n)
	}
	if err := s.Save(ctx, key, ""); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s); !slices.Equal(got, []string{"acme-new"}) {
		t.Errorf("List: %q", got)
	}
	if err := s.Delete(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(ctx, \"\") with nothing damaged: %v", err)
	}
}

// storeTenants saves a key for each tenant and returns the files.
func storeTenants(t *testing.T, s *Store, tenants ...string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i, tenant := range tenants {
		// Hosts are made of the name's slug: a name may hold what a host
		// may not.
		host := "x" + slug(tenant)
		f := testkeys.Fields{Tenant: tenant, UAAURL: "https://" + host + ".authentication.eu10.hana.ondemand.com",
			CertURL: "https://" + host + ".authentication.cert.eu10.hana.ondemand.com"}
		var file []byte
		if i%2 == 1 {
			m := newX509(t, time.Now().Add(time.Duration(30+i)*24*time.Hour), testkeys.ECDSA)
			file = testkeys.X509Key(f, m.chain, m.key)
		} else {
			f.Secret = fmt.Sprintf("secret-of-tenant-%d-abcdef", i)
			file = testkeys.SecretKey(f)
		}
		if err := s.Save(context.Background(), parseAnyName(t, file), tenant+".txt"); err != nil {
			t.Fatalf("Save %q: %v", tenant, err)
		}
		files[tenant] = file
	}
	return files
}

// checkTenants asserts that exactly the tenants of files are stored, each
// loading byte for byte, and that List agrees.
func checkTenants(t *testing.T, s *Store, files map[string][]byte) {
	t.Helper()
	want := slices.Sorted(maps.Keys(files))
	if got := listed(t, s); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	for tenant, file := range files {
		st, err := s.Load(context.Background(), tenant)
		if err != nil {
			t.Errorf("Load %q: %v", tenant, err)
			continue
		}
		if !bytes.Equal(st.Key.Bytes(), file) {
			t.Errorf("%q loads other bytes", tenant)
		}
	}
}

// TestDeleteOneTenantLeavesOthers: deleting one tenant leaves every item of
// the others byte for byte, and refusing or failing a save does too.
func TestDeleteOneTenantLeavesOthers(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	files := storeTenants(t, s, "acme-dev", "acme-prod", "acme-test")
	itemsOfOthers := func() map[string]string {
		items := keyItems(m, memService)
		maps.DeleteFunc(items, func(user, _ string) bool { return strings.HasPrefix(user, KeyItem("acme-prod")) })
		return items
	}
	before := itemsOfOthers()
	if len(before) < 4 {
		t.Fatalf("only %d items for two keys", len(before))
	}
	if err := s.Delete(ctx, "acme-prod"); err != nil {
		t.Fatal(err)
	}
	if after := itemsOfOthers(); !maps.Equal(after, before) {
		t.Error("deleting acme-prod changed the items of acme-dev or acme-test")
	}
	delete(files, "acme-prod")
	checkTenants(t, s, files)
	// A refused save (a second key of a tenant) and a failed one change
	// nobody's items.
	if err := s.Save(ctx, mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-dev"})), ""); !errors.Is(err, ErrAlreadyStored) {
		t.Fatalf("second key of acme-dev: %v", err)
	}
	m.FailOn(vaulttest.OpSet, errors.New("disk full"))
	if err := s.Save(ctx, mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-qa"})), ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("failed save: %v", err)
	}
	m.Intercept(nil)
	if after := itemsOfOthers(); !maps.Equal(after, before) {
		t.Error("a refused or failed save changed the other tenants' items")
	}
	checkTenants(t, s, files)
}

// TestIndexCrashAtEveryCall: a Save or a Delete of one tenant cut short at
// any keychain call, beside two stored tenants, leaves those two as they
// were and the target either whole or absent (never damaged, never listed
// without loading); the next writer cleans up what was left.
func TestIndexCrashAtEveryCall(t *testing.T) {
	ctx := context.Background()
	target := mustParse(t, func() []byte { f, _ := x509Key(t, testkeys.RSAPKCS1); return f }()) // 3 parts
	setup := func(t *testing.T, withTarget bool) (*Store, *vaulttest.MemoryBackend, map[string][]byte) {
		s, m := memStore(t)
		files := storeTenants(t, s, "aaa-first", "zzz-last")
		if withTarget {
			if err := s.Save(ctx, target, "t.txt"); err != nil {
				t.Fatal(err)
			}
		}
		return s, m, files
	}
	ops := map[string]struct {
		withTarget bool
		run        func(s *Store) error
	}{
		"Save":   {false, func(s *Store) error { return s.Save(ctx, target, "t.txt") }},
		"Delete": {true, func(s *Store) error { return s.Delete(ctx, target.Tenant) }},
	}
	for opName, op := range ops {
		s, m, _ := setup(t, op.withTarget)
		start := len(m.Calls())
		if err := op.run(s); err != nil {
			t.Fatal(err)
		}
		total := len(m.Calls()) - start
		for n := 1; n <= total; n++ {
			for kind, inject := range map[string]func(*vaulttest.MemoryBackend, int) *atomic.Int32{"crash": crashAfter, "failure": failOne} {
				t.Run(fmt.Sprintf("%s/%s at call %d of %d", opName, kind, n, total), func(t *testing.T) {
					s, m, files := setup(t, op.withTarget)
					others := keyItems(m, memService)
					maps.DeleteFunc(others, func(user, _ string) bool { return strings.HasPrefix(user, KeyItem(target.Tenant)) })
					inject(m, n)
					_ = op.run(s)
					m.Intercept(nil)
					again := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 2 * time.Second})
					// The others are untouched.
					got := keyItems(m, memService)
					maps.DeleteFunc(got, func(user, _ string) bool { return strings.HasPrefix(user, KeyItem(target.Tenant)) })
					if !maps.Equal(got, others) {
						t.Error("the other tenants' items changed")
					}
					// The target is whole or absent; what List shows loads.
					inList := slices.Contains(listed(t, again), target.Tenant)
					st, err := again.Load(ctx, target.Tenant)
					switch {
					case err == nil:
						if !bytes.Equal(st.Key.Bytes(), target.Bytes()) {
							t.Error("the target loads other bytes")
						}
						files[target.Tenant] = target.Bytes()
					case errors.Is(err, ErrNotFound):
						if inList {
							t.Error("List shows a tenant that Load does not find")
						}
					default:
						t.Fatalf("Load of the target: %v", err)
					}
					// Load listed a whole key that the crash left unlisted.
					checkTenants(t, again, files)
					// The next writer leaves nothing behind.
					if err := again.Delete(ctx, target.Tenant); err != nil && !errors.Is(err, ErrNotFound) {
						t.Fatal(err)
					}
					for user := range m.Items(memService) {
						if strings.HasPrefix(user, KeyItem(target.Tenant)) {
							t.Errorf("%s left after a delete", user)
						}
					}
					delete(files, target.Tenant)
					checkTenants(t, again, files)
				})
			}
		}
	}
}

// oddTenants are names of every kind an earlier calmkey stored (the format
// check now takes only XSUAA subdomains, see TenantNameError): what is
// stored under them keeps working.
var oddTenants = []string{
	"acme prod",                  // a space
	"mandant-münchen-東京",         // any script
	"ключ/зона:1*?",              // characters file systems and keychains treat specially
	strings.Repeat("long-", 60),  // 300 characters
	strings.Repeat("名前", 150),    // 300 characters of 3 bytes
	"acme-prod",                  // and a plain one
	"ACME-PROD",                  // that differs only in case
	"..",                         // a path of its own
	"\"quoted\" and \\slashed\\", // JSON's escapes
}

// TestOddTenantNames: names with spaces, any script, hundreds of characters
// and characters that mean something to a keychain or a file system: item
// names stay short ASCII, each tenant keeps its own key, List and Load give
// the name back exactly, and Delete removes only that tenant.
func TestOddTenantNames(t *testing.T) {
	s, m := memStore(t)
	files := storeTenants(t, s, oddTenants...)
	seen := map[string]string{}
	for _, tenant := range oddTenants {
		name := KeyItem(tenant)
		if other, dup := seen[name]; dup {
			t.Errorf("%q and %q share the item %s", tenant, other, name)
		}
		seen[name] = tenant
		if len(PartItem(tenant, maxChunks)) > 64 || !isASCII(name) || strings.ContainsAny(name, " /\\:*?\"<>|") {
			t.Errorf("item name %q for %q", PartItem(tenant, maxChunks), tenant)
		}
		checkItems(t, m.Items(memService), tenant)
	}
	if got := KeyItem("acme prod"); !strings.HasPrefix(got, "key-acme-prod-") {
		t.Errorf("KeyItem(\"acme prod\") = %q: the slug should show the name", got)
	}
	// 300-character names do not fit one index item: it has parts.
	head, _ := m.Get(memService, IndexItem)
	d, err := decodeIndexHead(head)
	if err != nil || d.Parts < 2 {
		t.Errorf("index head %v, %v; want parts for long names", d.Parts, err)
	}
	checkTenants(t, s, files)
	sums, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range sums {
		if sum.FileName != baseName(sum.Tenant+".txt") {
			t.Errorf("%q: file name %q", sum.Tenant, sum.FileName)
		}
	}
	for _, tenant := range []string{"ACME-PROD", strings.Repeat("名前", 150)} {
		if err := s.Delete(context.Background(), tenant); err != nil {
			t.Fatal(err)
		}
		delete(files, tenant)
	}
	checkTenants(t, s, files)
}

// TestManyTenantsIndexCrash: with an index long enough for parts, a save cut
// short at any call leaves the old index whole (its parts are replaced only
// after the new ones are written) or the new one.
func TestManyTenantsIndexCrash(t *testing.T) {
	ctx := context.Background()
	var names []string
	for i := range 8 {
		names = append(names, fmt.Sprintf("%02d-%s", i, strings.Repeat("x", 290)))
	}
	target := parseAnyName(t, testkeys.SecretKey(testkeys.Fields{Tenant: "zz-" + strings.Repeat("y", 290)}))
	s, m := memStore(t)
	files := storeTenants(t, s, names...)
	snapshot := m.Items(memService)
	start := len(m.Calls())
	if err := s.Save(ctx, target, ""); err != nil {
		t.Fatal(err)
	}
	total := len(m.Calls()) - start
	for n := 1; n <= total; n++ {
		m := vaulttest.NewMemoryBackend()
		for user, v := range snapshot {
			_ = m.Set(memService, user, v)
		}
		s := Open(Options{LockDir: t.TempDir(), Backend: m, Service: memService, Timeout: 2 * time.Second})
		crashAfter(m, n)
		_ = s.Save(ctx, target, "")
		m.Intercept(nil)
		got := listed(t, s)
		if want := slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) && !slices.Equal(got, append(want, target.Tenant)) {
			t.Errorf("crash at call %d of %d: List = %d tenants", n, total, len(got))
		}
		sums, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sum := range sums {
			if sum.Err != nil {
				t.Errorf("crash at call %d: %v", n, sum.Err)
			}
		}
	}
}

// TestListCost: List reads the index and one manifest per tenant, and
// nothing else; Stamp reads the index alone.
func TestListCost(t *testing.T) {
	s, m := memStore(t)
	tenants := []string{"t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08", "t09", "t10"}
	storeTenants(t, s, tenants...)
	start := len(m.Calls())
	sums, err := s.List(context.Background())
	if err != nil || len(sums) != len(tenants) {
		t.Fatalf("List: %d, %v", len(sums), err)
	}
	calls := m.Calls()[start:]
	want := map[string]bool{IndexItem: true}
	for _, tenant := range tenants {
		want[KeyItem(tenant)] = true
	}
	for _, c := range calls {
		if c.Op != vaulttest.OpGet || !want[c.User] {
			t.Errorf("List made the call %s %s", c.Op, c.User)
		}
	}
	if len(calls) != 1+len(tenants) {
		t.Errorf("List of %d tenants made %d keychain calls, want %d", len(tenants), len(calls), 1+len(tenants))
	}
	t.Logf("List of %d tenants: %d keychain reads", len(tenants), len(calls))
	for i, sum := range sums {
		if sum.Tenant != tenants[i] || sum.ClientID == "" || sum.TokenURL == "" || sum.UploadedAt.IsZero() {
			t.Errorf("summary %d: %+v", i, sum)
		}
		if x509 := i%2 == 1; x509 != !sum.CertExpiry.IsZero() || x509 != (sum.CredentialType == X509) {
			t.Errorf("summary %d: type %s, expiry %v", i, sum.CredentialType, sum.CertExpiry)
		}
	}
	start = len(m.Calls())
	if _, err := s.Stamp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(m.Calls()) - start; n != 1 {
		t.Errorf("Stamp made %d keychain calls, want 1", n)
	}
}

// TestLoadListsUnlistedKey: a save cut short after its manifest leaves a
// whole key the index lacks; List does not show it, Load gives it and lists
// it, and a second Save of that tenant is refused.
func TestLoadListsUnlistedKey(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	storeTenants(t, s, "acme-dev")
	key := mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme-qa"}))
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpSet && c.User == IndexItem {
			return errors.New("crashed")
		}
		if c.Op == vaulttest.OpDelete {
			return errors.New("crashed") // and no undo
		}
		return nil
	})
	if err := s.Save(ctx, key, ""); err == nil {
		t.Fatal("Save succeeded although the index write failed")
	}
	m.Intercept(nil)
	if got := listed(t, s); !slices.Equal(got, []string{"acme-dev"}) {
		t.Fatalf("List = %q", got)
	}
	if _, err := s.Load(ctx, "acme-qa"); err != nil {
		t.Fatalf("Load of the unlisted key: %v", err)
	}
	if got := listed(t, s); !slices.Equal(got, []string{"acme-dev", "acme-qa"}) {
		t.Errorf("List after the Load = %q", got)
	}
	if err := s.Save(ctx, key, ""); !errors.Is(err, ErrAlreadyStored) {
		t.Errorf("second save: %v", err)
	}
}

// TestDamagedIndex: an index that cannot be read is ErrCorrupt for List;
// the keys still load by name; Delete(ctx, "") replaces the index, and a
// Load lists a key again.
func TestDamagedIndex(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	files := storeTenants(t, s, "acme-dev", "acme-prod")
	_ = m.Set(memService, IndexItem, "{not json")
	if _, err := s.List(ctx); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "index") {
		t.Fatalf("List with a damaged index: %v", err)
	}
	if _, err := s.Load(ctx, "acme-dev"); err != nil {
		t.Errorf("Load with a damaged index: %v", err)
	}
	if err := s.Delete(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s); len(got) != 0 {
		t.Errorf("List after the index was replaced: %q", got)
	}
	if _, err := s.Load(ctx, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	delete(files, "acme-prod")
	checkTenants(t, s, files)
}

// TestItemNames pins the names a keychain shows, which the README lists.
func TestItemNames(t *testing.T) {
	for tenant, want := range map[string]string{
		"acme-prod": "key-acme-prod-",
		"Acme Prod": "key-acme-prod-",
		"東京":        "key-",
		"":          "key-",
	} {
		got := KeyItem(tenant)
		if !strings.HasPrefix(got, want) || len(got) != len(want)+hashHex || PartItem(tenant, 3) != got+"-part-3" {
			t.Errorf("KeyItem(%q) = %q, PartItem %q", tenant, got, PartItem(tenant, 3))
		}
	}
	if KeyItem("acme-prod") == KeyItem("Acme Prod") {
		t.Error("names that differ share items")
	}
	if LegacyPartItem(2) != "service-key-part-2" || LegacyKeyItem != "service-key" || IndexItem != "index" {
		t.Error("the layout's fixed names changed")
	}
}

// DeleteIf deletes the key it was given, and not one stored in its place
// since: the check and the delete are one hold of the lock.
func TestDeleteIfOnlyTheKeyAskedAbout(t *testing.T) {
	s, _ := memStore(t)
	ctx := context.Background()
	storeTenants(t, s, "acme", "other")
	asked, err := s.Load(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	// Another program replaces acme's key after the question.
	if err := s.Delete(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	replacement := mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: "acme", ClientID: "sb-replaced!b1|sapcloudalm!b16907"}))
	if err := s.Save(ctx, replacement, "new.txt"); err != nil {
		t.Fatal(err)
	}
	err = s.DeleteIf(ctx, "acme", asked.Identity())
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "tenant acme was replaced meanwhile; nothing was deleted") {
		t.Fatalf("DeleteIf of a replaced key: %v", err)
	}
	now, err := s.Load(ctx, "acme")
	if err != nil || now.Key.ClientID != "sb-replaced!b1|sapcloudalm!b16907" {
		t.Fatalf("the replacement is gone: %v %v", now, err)
	}
	// The key stored now is deleted when asked about; the other tenant stays.
	if err := s.DeleteIf(ctx, "acme", now.Identity()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after DeleteIf: %v", err)
	}
	if err := s.DeleteIf(ctx, "acme", now.Identity()); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteIf of a key that is gone: %v", err)
	}
	if _, err := s.Load(ctx, "other"); err != nil {
		t.Errorf("the other tenant: %v", err)
	}
}
