// Package vaulttest holds test doubles for package vault: MemoryBackend, an
// in-memory keychain that fails or stalls any call on demand. It does not
// import vault (vault's own tests use it), so its errors wrap go-keyring's
// ErrNotFound, which vault reads as a missing item, as it does the real
// keychain's.
package vaulttest

import (
	"fmt"
	"sync"

	"github.com/zalando/go-keyring"
)

// WindowsSecretLimit is the most bytes Windows Credential Manager keeps in
// one secret; MemoryBackend enforces it so tests catch items that would not
// fit there.
const WindowsSecretLimit = 2560

// Op names a Backend method, for MemoryBackend's hooks.
type Op string

// The operations a MemoryBackend sees.
const (
	OpGet    Op = "get"
	OpSet    Op = "set"
	OpDelete Op = "delete"
)

// Call is one Backend call as MemoryBackend's hook sees it.
type Call struct {
	Op      Op
	Service string
	User    string
}

// MemoryBackend is an in-memory keychain for tests: it keeps items in a map,
// refuses secrets over WindowsSecretLimit bytes like Windows does, and lets
// a test fail or stall any call through a hook. It is safe for concurrent
// use. The zero value is not ready; use NewMemoryBackend.
type MemoryBackend struct {
	mu    sync.Mutex
	items map[[2]string]string
	hook  func(Call) error
	calls []Call
	Limit int // bytes per secret; NewMemoryBackend sets WindowsSecretLimit
}

// NewMemoryBackend returns an empty in-memory keychain with Windows' limit.
func NewMemoryBackend() *MemoryBackend {
	return &MemoryBackend{items: map[[2]string]string{}, Limit: WindowsSecretLimit}
}

// Intercept installs f to run before every call, outside the backend's lock:
// a non-nil error fails the call without touching the items, and blocking in
// f makes the call hang. nil removes the hook.
func (m *MemoryBackend) Intercept(f func(Call) error) {
	m.mu.Lock()
	m.hook = f
	m.mu.Unlock()
}

// FailOn makes every call of op (every call, when op is "") fail with err.
// Pass vault.ErrUnavailable to stand for an unreachable keychain.
func (m *MemoryBackend) FailOn(op Op, err error) {
	m.Intercept(func(c Call) error {
		if op == "" || c.Op == op {
			return err
		}
		return nil
	})
}

// Hang makes every call of op (every call, when op is "") block until
// release is called; release also removes the hook. It is safe to call
// release more than once.
func (m *MemoryBackend) Hang(op Op) (release func()) {
	gate := make(chan struct{})
	m.Intercept(func(c Call) error {
		if op == "" || c.Op == op {
			<-gate
		}
		return nil
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			m.Intercept(nil)
			close(gate)
		})
	}
}

// Items returns a copy of the raw items stored under service, by user name.
func (m *MemoryBackend) Items(service string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, v := range m.items {
		if k[0] == service {
			out[k[1]] = v
		}
	}
	return out
}

// Calls returns the calls made so far, in order, including failed ones.
func (m *MemoryBackend) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Call(nil), m.calls...)
}

func (m *MemoryBackend) enter(c Call) error {
	m.mu.Lock()
	m.calls = append(m.calls, c)
	hook := m.hook
	m.mu.Unlock()
	if hook != nil {
		return hook(c)
	}
	return nil
}

// Get reads an item; the error wraps keyring.ErrNotFound when it is
// missing.
func (m *MemoryBackend) Get(service, user string) (string, error) {
	if err := m.enter(Call{OpGet, service, user}); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[[2]string{service, user}]
	if !ok {
		return "", fmt.Errorf("memory keychain: %s/%s: %w", service, user, keyring.ErrNotFound)
	}
	return v, nil
}

// Set writes an item; secrets over Limit bytes fail with an error wrapping
// keyring.ErrSetDataTooBig, as go-keyring does on Windows.
func (m *MemoryBackend) Set(service, user, secret string) error {
	if err := m.enter(Call{OpSet, service, user}); err != nil {
		return err
	}
	if m.Limit > 0 && len(secret) > m.Limit {
		return fmt.Errorf("memory keychain: %d bytes for %s/%s exceed the limit of %d: %w", len(secret), service, user, m.Limit, keyring.ErrSetDataTooBig)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[[2]string{service, user}] = secret
	return nil
}

// Delete removes an item; the error wraps keyring.ErrNotFound when it is
// missing.
func (m *MemoryBackend) Delete(service, user string) error {
	if err := m.enter(Call{OpDelete, service, user}); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{service, user}
	if _, ok := m.items[k]; !ok {
		return fmt.Errorf("memory keychain: %s/%s: %w", service, user, keyring.ErrNotFound)
	}
	delete(m.items, k)
	return nil
}
