//go:build linux

package vault

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// TestKeychainLockDirsApart: processes that lock different files (cron
// with another HOME, sudo -E, an older calmkey) save different tenants at
// once on the real keychain. The index check keeps every tenant listed
// after every round (the run lost 5 of 6 each round). Linux only:
// Wine's Credential Manager, kept in its registry, fails writes made at
// once by unlocked writers ("Registry is corrupt"), which Windows' does not.
func TestKeychainLockDirsApart(t *testing.T) {
	harness.Require(t)
	service := testService(t)
	const stores, rounds = 4, 6
	var all []*Store
	for range stores {
		all = append(all, Open(Options{Service: service, LockDir: t.TempDir(), Timeout: time.Minute}))
	}
	keys := make([][]*Key, rounds)
	for r := range rounds {
		for i := range stores {
			tenant := fmt.Sprintf("round-%d-store-%d", r, i)
			keys[r] = append(keys[r], mustParse(t, testkeys.SecretKey(testkeys.Fields{Tenant: tenant})))
		}
	}
	var want []string
	ctx := context.Background()
	for r := range rounds {
		var wg sync.WaitGroup
		for i, s := range all {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Save(ctx, keys[r][i], ""); err != nil {
					t.Errorf("round %d, store %d: %v", r, i, err)
				}
			}()
			want = append(want, keys[r][i].Tenant)
		}
		wg.Wait()
		slices.Sort(want)
		if got := listed(t, all[0]); !slices.Equal(got, want) {
			t.Fatalf("round %d: listed %d tenants %v, want %d %v", r, len(got), got, len(want), want)
		}
	}
}
