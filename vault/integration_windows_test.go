package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/vault/vaulttest"
	"github.com/zalando/go-keyring"
)

// TestKeychainWindowsLimit: Windows' Credential Manager keeps at most 2,560
// bytes per secret (CRED_MAX_CREDENTIAL_BLOB_SIZE). Wine does not enforce
// it, real Windows does; go-keyring checks it before it calls Windows, so
// the refusal seen here under Wine is the one users get. go-keyring (v0.2.8)
// counts the secret's bytes, and stores those same bytes (UTF-8, not
// UTF-16) as the blob: vaulttest.WindowsSecretLimit is a byte count, and the items a
// Store writes are ASCII (checkItems, TestKeychainRoundTrip).
func TestKeychainWindowsLimit(t *testing.T) {
	harness.Require(t)
	service := testService(t)
	b := KeyringBackend{}
	full := strings.Repeat("x", vaulttest.WindowsSecretLimit)
	if err := b.Set(service, "full", full); err != nil {
		t.Fatalf("a secret of exactly %d bytes: %v", vaulttest.WindowsSecretLimit, err)
	}
	if got, err := b.Get(service, "full"); err != nil || got != full {
		t.Fatalf("read back %d bytes: %v", len(got), err)
	}
	for name, secret := range map[string]string{
		"one byte over":      full + "x",
		"bytes, not runes":   strings.Repeat("é", vaulttest.WindowsSecretLimit/2+1), // 1,281 runes, 2,562 bytes
		"much more, as once": strings.Repeat("x", 3*vaulttest.WindowsSecretLimit),
	} {
		err := b.Set(service, name, secret)
		if !errors.Is(err, keyring.ErrSetDataTooBig) || errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Set = %v, want keyring.ErrSetDataTooBig", name, err)
		}
		if _, err := b.Get(service, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: refused, yet Get = %v", name, err)
		}
	}
}
