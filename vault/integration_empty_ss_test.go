//go:build linux

package vault

import (
	"context"
	"testing"

	"github.com/calmkey/calmkey/internal/harness"
	ss "github.com/zalando/go-keyring/secret_service"
)

// serviceItems counts the Secret Service items of service in the login
// collection, found by their attributes as any program can: what calmkey
// leaves, whatever their names.
func serviceItems(t *testing.T, service string) int {
	t.Helper()
	svc, err := ss.NewSecretService()
	if err != nil {
		t.Fatal(err)
	}
	found, err := svc.SearchItems(svc.GetLoginCollection(), map[string]string{"service": service})
	if err != nil {
		t.Fatal(err)
	}
	return len(found)
}

// TestKeychainLastDeleteLeavesNothing: deleting the last key removes the
// index too; no item of the service is left in the Secret Service.
func TestKeychainLastDeleteLeavesNothing(t *testing.T) {
	harness.Require(t)
	service := testService(t)
	s := Open(Options{Service: service})
	ctx := context.Background()
	storeTenants(t, s, "acme-dev", "acme-prod")
	if n := serviceItems(t, service); n < 5 {
		t.Fatalf("%d items with two keys stored, want an index and two manifests and parts", n)
	}
	for _, tenant := range []string{"acme-prod", "acme-dev"} {
		if err := s.Delete(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	if n := serviceItems(t, service); n != 0 {
		t.Errorf("%d items of the service left after the last delete, want none", n)
	}
}
