package vault

import (
	"bytes"
	"context"
	"errors"
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
// another program would see them: the manifest and parts 1..most+12.
func rawItems(t *testing.T, service string, most int) map[string]string {
	t.Helper()
	items := map[string]string{}
	man, err := keyring.Get(service, ManifestItem)
	if err == nil {
		items[ManifestItem] = man
	} else if !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("raw manifest: %v", err)
	}
	// Parts are written in parallel, so leftovers may have gaps: look
	// further than the key's parts, without stopping at a gap.
	for i := 1; i <= most+12; i++ {
		v, err := keyring.Get(service, ChunkItem(i))
		if errors.Is(err, keyring.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("raw part %d: %v", i, err)
		}
		items[ChunkItem(i)] = v
	}
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
			raw := rawItems(t, service, want)
			parts := checkItems(t, raw)
			if parts != want {
				t.Errorf("%d parts, want %d", parts, want)
			}
			var joined strings.Builder
			for i := 1; i <= parts; i++ {
				joined.WriteString(raw[ChunkItem(i)])
			}
			if joined.String() != encodePercent(tt.file) {
				t.Error("the parts as stored are not the encoded file")
			}
			// A second Store, as a new process would open it.
			st, err := Open(Options{Service: service}).Load(ctx)
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
			if err := s.Delete(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(rawItems(t, service, want)); n != 0 {
				t.Errorf("%d items left after delete", n)
			}
			if _, err := s.Load(ctx); !errors.Is(err, ErrNotFound) {
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
	part, err := keyring.Get(service, ChunkItem(2))
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(part)
	flipped[len(flipped)/2] ^= 0x01
	if err := keyring.Set(service, ChunkItem(2), string(flipped)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(ctx)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("Load: %v", err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n := len(rawItems(t, service, 3)); n != 0 {
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
			if _, err := s.Load(ctx); !errors.Is(err, ErrNotFound) {
				t.Errorf("half-written key visible: %v", err)
			}
			left := rawItems(t, service, 3)
			if _, ok := left[ManifestItem]; ok {
				t.Error("a manifest is stored")
			}
			if !tt.rollbackFails && len(left) != 0 {
				t.Errorf("rollback left %d items", len(left))
			}
			if tt.rollbackFails && len(left) == 0 {
				t.Fatal("the injected rollback failure did not leave parts; the test proves nothing")
			}
			if err := s.Delete(ctx); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete: %v", err)
			}
			if n := len(rawItems(t, service, 3)); n != 0 {
				t.Errorf("sweep left %d items", n)
			}
		})
	}
}
