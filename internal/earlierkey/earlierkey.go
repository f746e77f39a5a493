// Package earlierkey stores a key as the first calmkey releases kept it, for
// tests of keys that the format check now refuses (names that are not a
// tenant subdomain) but that may still be stored from before.
package earlierkey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/vault"
)

// Store stores file, a key whose tenant need not be a valid tenant
// (subdomain) name, under service as an earlier calmkey did. The format
// check now refuses such names, so the key goes in the way the first
// calmkey releases kept it: as the one key of layout version 1, under a
// scratch service. A Store moves that key to the current layout and loads
// it as it loads every stored key (a name that is not a subdomain only
// warns there); the key loaded is then saved under service, and the
// scratch service emptied. It returns the key's tenant.
func Store(t testing.TB, b vault.Backend, service, lockDir string, file []byte, fileName string) string {
	t.Helper()
	scratch := service + "-earlier"
	enc := percentEncode(file)
	chunks := 0
	for i := 0; i < len(enc); i += vault.ChunkSize {
		chunks++
		if err := b.Set(scratch, vault.LegacyPartItem(chunks), enc[i:min(i+vault.ChunkSize, len(enc))]); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(file)
	manifest, err := json.Marshal(map[string]any{
		"format": "calmkey-service-key", "version": 1, "chunks": chunks, "size": len(file), "encoding": "percent",
		"sha256": hex.EncodeToString(sum[:]), "uploadedAt": time.Now().UTC(), "fileName": fileName,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set(scratch, vault.LegacyKeyItem, string(manifest)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	from := vault.Open(vault.Options{Backend: b, Service: scratch, LockDir: lockDir})
	// The first call moves the old key to the current layout.
	sums, err := from.List(ctx)
	if err != nil || len(sums) != 1 {
		t.Fatalf("the key of an earlier calmkey was not moved: %v, %d keys", err, len(sums))
	}
	st, err := from.Load(ctx, sums[0].Tenant)
	if err != nil {
		t.Fatalf("the key of an earlier calmkey does not load: %v", err)
	}
	to := vault.Open(vault.Options{Backend: b, Service: service, LockDir: lockDir})
	if err := to.Save(ctx, st.Key, fileName); err != nil {
		t.Fatalf("saving %q: %v", sums[0].Tenant, err)
	}
	if err := from.Delete(ctx, sums[0].Tenant); err != nil {
		t.Fatalf("emptying the scratch service: %v", err)
	}
	return sums[0].Tenant
}

// percentEncode is layout version 1's encoding of the key's bytes: printable
// ASCII and line ends as they are, every other byte and '%' as %XX.
func percentEncode(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		if (c >= 0x20 && c < 0x7f && c != '%') || c == '\n' || c == '\r' || c == '\t' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
