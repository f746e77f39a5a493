package vaulttest

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestMemoryBackend(t *testing.T) {
	m := NewMemoryBackend()
	if err := m.Set("s", "u", strings.Repeat("x", WindowsSecretLimit)); err != nil {
		t.Fatal(err)
	}
	err := m.Set("s", "v", strings.Repeat("x", WindowsSecretLimit+1))
	if !errors.Is(err, keyring.ErrSetDataTooBig) {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := m.Get("s", "v"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("refused item stored: %v", err)
	}
	if err := m.Delete("s", "v"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Delete missing: %v", err)
	}
	boom := errors.New("boom")
	m.FailOn(OpDelete, boom)
	if err := m.Delete("s", "u"); !errors.Is(err, boom) {
		t.Errorf("injected failure: %v", err)
	}
	if _, err := m.Get("s", "u"); err != nil {
		t.Errorf("failure hook hit another op: %v", err)
	}
	m.Intercept(nil)
	release := m.Hang(OpGet)
	done := make(chan struct{})
	before := len(m.Calls())
	go func() { _, _ = m.Get("s", "u"); close(done) }()
	// Once the call is recorded it is in the hook, which only release ends.
	for len(m.Calls()) == before {
		runtime.Gosched()
	}
	select {
	case <-done:
		t.Fatal("Get did not hang")
	default:
	}
	release()
	release()
	<-done
	if got := len(m.Calls()); got != 7 {
		t.Errorf("%d calls recorded, want 7", got)
	}
}
