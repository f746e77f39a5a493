package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// TestKeychainErrorsGermanKeepTheFacts: in German, a keychain error says
// what vault's English says beside its kind (the tenant, the wait, what
// was left, the keychain's own error), taken from vault's values; in
// English it is vault's text.
func TestKeychainErrorsGermanKeepTheFacts(t *testing.T) {
	m := vaulttest.NewMemoryBackend()
	s := vault.Open(vault.Options{Backend: m, Service: "calmkey-lang-errors-test", LockDir: t.TempDir(), Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	_, notFound := s.Load(ctx, "acme")

	gate := make(chan struct{})
	m.Intercept(func(vaulttest.Call) error { <-gate; return nil })
	_, timeout := s.Load(ctx, "acme")
	close(gate)
	m.Intercept(nil)

	m.FailOn("", fmt.Errorf("%w: %w", vault.ErrUnavailable, errors.New("org.freedesktop.DBus.Error.ServiceUnknown")))
	_, unavailable := s.Load(ctx, "acme")
	m.Intercept(nil)
	for _, c := range []struct {
		err  error
		kind error
	}{{notFound, vault.ErrNotFound}, {timeout, vault.ErrTimeout}, {unavailable, vault.ErrUnavailable}} {
		if !errors.Is(c.err, c.kind) {
			t.Fatalf("got %v, want %v", c.err, c.kind)
		}
		if got := errText(c.err); got != c.err.Error() {
			t.Errorf("English: %q, want vault's %q", got, c.err)
		}
	}

	inLanguage(t, langGerman)
	for _, c := range []struct {
		err  error
		want []string
	}{
		{notFound, []string{"für Tenant acme ist kein Serviceschlüssel gespeichert"}},
		{timeout, []string{"innerhalb von 200ms geantwortet"}},
		{unavailable, []string{"nicht erreichbar (org.freedesktop.DBus.Error.ServiceUnknown)"}},
	} {
		mustContain(t, "German", errText(c.err), c.want...)
	}
	// The timeouts of a write and a replacement, as vault gives them.
	for _, c := range []struct {
		facts vault.ErrorFacts
		want  string
	}{
		{vault.ErrorFacts{Wait: 30 * time.Second, Left: vault.LeftNothingStored}, "innerhalb von 30 s geantwortet; nichts wurde gespeichert"},
		{vault.ErrorFacts{Wait: 30 * time.Second, Left: vault.LeftNothingDeleted}, "nichts wurde gelöscht"},
		{vault.ErrorFacts{Wait: 30 * time.Second, Grace: 10 * time.Second, Left: vault.LeftPartialKey}, "war 10 s später noch nicht beendet"},
		{vault.ErrorFacts{Tenant: "acme", Wait: 30 * time.Second, Left: vault.LeftNotReplaced}, "der Schlüssel von Tenant acme wurde nicht ersetzt"},
		{vault.ErrorFacts{Tenant: "acme", Wait: 30 * time.Second, Left: vault.LeftEitherKey}, "jeder der beiden Schlüssel"},
	} {
		if got := timeoutText(c.facts); !strings.Contains(got, c.want) {
			t.Errorf("timeout of %+v: %q, want %q", c.facts, got, c.want)
		}
	}
}
