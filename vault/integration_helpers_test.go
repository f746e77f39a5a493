package vault

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/zalando/go-keyring"
)

// testService is a keychain service name no one else uses; everything under
// it is removed when the test ends.
func testService(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "calmkey-test-" + hex.EncodeToString(b)
	t.Cleanup(func() { _ = keyring.DeleteAll(name) })
	return name
}
