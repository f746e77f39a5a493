package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/zalando/go-keyring"
)

// Keychain tests against the test session's real keychain: the Secret
// Service (GNOME Keyring) on Linux, Wine's Credential Manager in the Windows
// run (scripts/wine/test), through the same go-keyring calls a user's
// calmkey makes.

// rawItems reads the items of service straight through go-keyring, the way
// another program would see them: the index, and for each of the keys
// named by manifests (tenant names, or "" for the old layout's key) the
// manifest and parts 1..most+12.
func rawItems(t *testing.T, service string, most int, keys ...string) map[string]string {
	t.Helper()
	items := map[string]string{}
	get := func(user string) {
		v, err := keyring.Get(service, user)
		switch {
		case err == nil:
			items[user] = v
		case !errors.Is(err, keyring.ErrNotFound):
			t.Fatalf("raw read of %s: %v", user, err)
		}
	}
	get(IndexItem)
	for _, tenant := range keys {
		it := legacyItems
		if tenant != "" {
			it = itemsOf(tenant)
		}
		get(it.manifest)
		// Parts are written in parallel, so leftovers may have gaps: look
		// further than the key's parts, without stopping at a gap.
		for i := 1; i <= most+12; i++ {
			get(it.part(i))
		}
	}
	return items
}

// rawKeyItems is rawItems without the index.
func rawKeyItems(t *testing.T, service string, most int, keys ...string) map[string]string {
	t.Helper()
	items := rawItems(t, service, most, keys...)
	delete(items, IndexItem)
	return items
}

func TestKeychainRoundTrip(t *testing.T) {
	harness.Require(t)
	rsa, _ := x509Key(t, testkeys.RSAPKCS1)
	ec, _ := x509Key(t, testkeys.ECDSA)
	big := edit(t, secretKey(t), func(root, _ map[string]any) {
		// Worst case for the encoding: non-ASCII text, each byte escaped.
		root["notes"] = strings.Repeat("é", 30000)
	})
	tests := []struct {
		name, path, base string
		file             []byte
	}{
		{"secret", "/home/me/Downloads/key.txt", "key.txt", secretKey(t)},
		{"secret with BOM and CRLF", `C:\Users\me\Downloads\key (1).txt`, "key (1).txt", append([]byte("\xEF\xBB\xBF"), crlf(secretKey(t))...)},
		{"x509 RSA", `\\server\share\schlüssel-ключ-鍵-🔑.txt`, "schlüssel-ключ-鍵-🔑.txt", rsa},
		{"x509 EC", "", "", ec},
		{"near 64 KiB, all escaped", "big.json", "big.json", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			service := testService(t)
			s := Open(Options{Service: service})
			ctx := context.Background()
			key := mustParse(t, tt.file)
			if err := s.Save(ctx, key, tt.path); err != nil {
				t.Fatal(err)
			}
			// As stored: the manifest and full parts of ChunkSize, ASCII,
			// none over Windows' limit, read back raw.
			want := (len(encodePercent(tt.file)) + ChunkSize - 1) / ChunkSize
			raw := rawItems(t, service, want, key.Tenant)
			parts := checkItems(t, raw, key.Tenant)
			if parts != want {
				t.Errorf("%d parts, want %d", parts, want)
			}
			var joined strings.Builder
			for i := 1; i <= parts; i++ {
				joined.WriteString(raw[PartItem(key.Tenant, i)])
			}
			if joined.String() != encodePercent(tt.file) {
				t.Error("the parts as stored are not the encoded file")
			}
			// A second Store, as a new process would open it.
			st, err := Open(Options{Service: service}).Load(ctx, key.Tenant)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(st.Key.Bytes(), tt.file) {
				t.Error("loaded bytes differ from the file")
			}
			if st.FileName != tt.base {
				t.Errorf("file name %q, want %q", st.FileName, tt.base)
			}
			if err := s.Save(ctx, key, ""); !errors.Is(err, ErrAlreadyStored) {
				t.Errorf("second save: %v", err)
			}
			if err := s.Delete(ctx, key.Tenant); err != nil {
				t.Fatal(err)
			}
			if n := len(rawKeyItems(t, service, want, key.Tenant)); n != 0 {
				t.Errorf("%d items left after delete", n)
			}
			if _, err := s.Load(ctx, key.Tenant); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load after delete: %v", err)
			}
		})
	}
}

func TestKeychainTamperedPart(t *testing.T) {
	harness.Require(t)
	service := testService(t)
	s := Open(Options{Service: service})
	ctx := context.Background()
	file, _ := x509Key(t, testkeys.RSAPKCS1)
	if err := s.Save(ctx, mustParse(t, file), "k.txt"); err != nil {
		t.Fatal(err)
	}
	part, err := keyring.Get(service, PartItem(testkeys.Tenant, 2))
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(part)
	flipped[len(flipped)/2] ^= 0x01
	if err := keyring.Set(service, PartItem(testkeys.Tenant, 2), string(flipped)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(ctx, testkeys.Tenant)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("Load: %v", err)
	}
	if err := s.Delete(ctx, testkeys.Tenant); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n := len(rawKeyItems(t, service, 3, testkeys.Tenant)); n != 0 {
		t.Errorf("%d items left", n)
	}
}

// failingBackend is the real keychain with one write failing. It passes
// the session through, so the failure hits the path Store really takes.
type failingBackend struct {
	inner      Backend
	failSet    int32 // the nth Set fails
	sets       *atomic.Int32
	failDelete bool
}

func (b *failingBackend) openSession() (Backend, func(), error) {
	inner, done, err := b.inner.(sessionOpener).openSession()
	if err != nil {
		return nil, nil, err
	}
	c := *b
	c.inner = inner
	return &c, done, nil
}

func (b *failingBackend) Get(service, user string) (string, error) { return b.inner.Get(service, user) }

func (b *failingBackend) Set(service, user, secret string) error {
	if b.sets.Add(1) == b.failSet {
		return errors.New("injected failure")
	}
	return b.inner.Set(service, user, secret)
}

func (b *failingBackend) Delete(service, user string) error {
	if b.failDelete {
		return errors.New("injected failure")
	}
	return b.inner.Delete(service, user)
}

func TestKeychainHalfWrittenSave(t *testing.T) {
	harness.Require(t)
	file, _ := x509Key(t, testkeys.RSAPKCS1) // 3 parts
	for _, tt := range []struct {
		name          string
		failSet       int32
		rollbackFails bool
	}{
		{"last part fails", 3, false},
		{"manifest fails", 4, false},
		{"last part fails, rollback fails", 3, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			service := testService(t)
			ctx := context.Background()
			b := &failingBackend{inner: KeyringBackend{}, failSet: tt.failSet, sets: new(atomic.Int32), failDelete: tt.rollbackFails}
			if err := Open(Options{Backend: b, Service: service}).Save(ctx, mustParse(t, file), ""); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Save: %v", err)
			}
			s := Open(Options{Service: service})
			if _, err := s.Load(ctx, testkeys.Tenant); !errors.Is(err, ErrNotFound) {
				t.Errorf("half-written key visible: %v", err)
			}
			left := rawKeyItems(t, service, 3, testkeys.Tenant)
			if _, ok := left[KeyItem(testkeys.Tenant)]; ok {
				t.Error("a manifest is stored")
			}
			if !tt.rollbackFails && len(left) != 0 {
				t.Errorf("rollback left %d items", len(left))
			}
			if tt.rollbackFails && len(left) == 0 {
				t.Fatal("the injected rollback failure did not leave parts; the test proves nothing")
			}
			if err := s.Delete(ctx, testkeys.Tenant); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete: %v", err)
			}
			if n := len(rawKeyItems(t, service, 3, testkeys.Tenant)); n != 0 {
				t.Errorf("sweep left %d items", n)
			}
		})
	}
}

// crashingBackend is the real keychain that dies at the nth call: that
// call and every later one fail. It passes the session through.
type crashingBackend struct {
	inner Backend
	n     int32
	calls *atomic.Int32
}

func (b *crashingBackend) openSession() (Backend, func(), error) {
	so, ok := b.inner.(sessionOpener)
	if !ok {
		return b, func() {}, nil
	}
	inner, done, err := so.openSession()
	if errors.Is(err, errNoSession) {
		return b, func() {}, nil // Windows: the plain calls
	}
	if err != nil {
		return nil, nil, err
	}
	c := *b
	c.inner = inner
	return &c, done, nil
}

func (b *crashingBackend) gate() error {
	if b.calls.Add(1) >= b.n {
		return errors.New("crashed")
	}
	return nil
}

func (b *crashingBackend) Get(service, user string) (string, error) {
	if err := b.gate(); err != nil {
		return "", err
	}
	return b.inner.Get(service, user)
}

func (b *crashingBackend) Set(service, user, secret string) error {
	if err := b.gate(); err != nil {
		return err
	}
	return b.inner.Set(service, user, secret)
}

func (b *crashingBackend) Delete(service, user string) error {
	if err := b.gate(); err != nil {
		return err
	}
	return b.inner.Delete(service, user)
}

// TestKeychainMigrateV1: the fixture's layout-1 items, written raw into the
// real keychain, are moved by the first List of a new Store; a move that
// crashes at any keychain call leaves the key readable, and the next Store
// finishes it. Read back raw through go-keyring.
func TestKeychainMigrateV1(t *testing.T) {
	harness.Require(t)
	ctx := context.Background()
	f := loadV1(t, "x509")
	// The whole move, and how many calls it takes.
	service := testService(t)
	f.put(t, KeyringBackend{}, service)
	counting := &crashingBackend{inner: KeyringBackend{}, n: 1 << 30, calls: new(atomic.Int32)}
	if _, err := Open(Options{Backend: counting, Service: service}).List(ctx); err != nil {
		t.Fatal(err)
	}
	total := int(counting.calls.Load())
	checkMovedRaw(t, service, f)
	// Every call on the Secret Service. Under Wine every third (and the
	// last): a test process that runs long beside the Windows end-to-end
	// tests' hundreds of processes sometimes loses its wineserver
	// connection; the MemoryBackend test crashes every call on every OS.
	step := 1
	if runtime.GOOS == "windows" {
		step = 3
	}
	for n := 1; n <= total; n++ {
		if (n-1)%step != 0 && n != total {
			continue
		}
		t.Run(fmt.Sprintf("crash at call %d of %d", n, total), func(t *testing.T) {
			service := testService(t)
			f.put(t, KeyringBackend{}, service)
			b := &crashingBackend{inner: KeyringBackend{}, n: int32(n), calls: new(atomic.Int32)}
			_, _ = Open(Options{Backend: b, Service: service}).List(ctx)
			checkMovedRaw(t, service, f)
		})
	}
}

// checkMovedRaw opens a Store on the real keychain as a new process would
// and checks that the fixture's key loads whole, is listed, and that no
// item of layout 1 is left (read raw).
func checkMovedRaw(t *testing.T, service string, f v1Fixture) {
	t.Helper()
	s := Open(Options{Service: service})
	st, err := s.Load(context.Background(), f.Tenant)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !bytes.Equal(st.Key.Bytes(), []byte(f.File)) {
		t.Error("the moved key's bytes differ from the uploaded file")
	}
	sums, err := s.List(context.Background())
	if err != nil || len(sums) != 1 || sums[0].Tenant != f.Tenant || sums[0].Err != nil {
		t.Errorf("List: %+v, %v", sums, err)
	}
	if left := rawKeyItems(t, service, 3, ""); len(left) != 0 {
		t.Errorf("items of layout 1 left: %d", len(left))
	}
	raw := rawItems(t, service, 3, f.Tenant)
	checkItems(t, raw, f.Tenant)
}

// TestKeychainTenants: three tenants on the real keychain; deleting one
// leaves the others' items byte for byte (read raw), and names of every
// kind work there (Credential Manager under Wine, Secret Service).
func TestKeychainTenants(t *testing.T) {
	harness.Require(t)
	service := testService(t)
	s := Open(Options{Service: service})
	names := append([]string{"acme-dev", "acme-test"}, oddTenants...) // acme-prod among them
	files := storeTenants(t, s, names...)
	checkTenants(t, s, files)
	others := rawKeyItems(t, service, 4, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "acme-prod" })...)
	if err := s.Delete(context.Background(), "acme-prod"); err != nil {
		t.Fatal(err)
	}
	if got := rawKeyItems(t, service, 4, names...); !maps.Equal(got, others) {
		t.Errorf("deleting acme-prod changed the other tenants' items (%d items, %d before)", len(got), len(others))
	}
	delete(files, "acme-prod")
	checkTenants(t, Open(Options{Service: service}), files)
}
