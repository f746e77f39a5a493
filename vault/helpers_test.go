package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// x509Material is a client certificate chain and key from a throwaway CA.
type x509Material struct {
	chain, key string
	notAfter   time.Time
}

func newX509(t testing.TB, notAfter time.Time, alg testkeys.Alg) x509Material {
	t.Helper()
	ca := testkeys.NewCA(t)
	chain, key := ca.Client(t, "calmkey-test-client", notAfter, alg)
	return x509Material{chain: chain, key: key, notAfter: notAfter}
}

func secretKey(t testing.TB) []byte {
	t.Helper()
	return testkeys.SecretKey(testkeys.Fields{})
}

func x509Key(t testing.TB, alg testkeys.Alg) ([]byte, x509Material) {
	t.Helper()
	m := newX509(t, time.Now().Add(180*24*time.Hour), alg)
	return testkeys.X509Key(testkeys.Fields{}, m.chain, m.key), m
}

// edit decodes a key, lets f change it and encodes it again (indented).
func edit(t testing.TB, key []byte, f func(root, uaa map[string]any)) []byte {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(key, &root); err != nil {
		t.Fatal(err)
	}
	uaa, _ := root["uaa"].(map[string]any)
	f(root, uaa)
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

func mustParse(t testing.TB, data []byte) *Key {
	t.Helper()
	k, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

// parseAnyName parses a key whose tenant need not be a valid subdomain, as
// the keys an earlier calmkey stored: the storage must work for any name.
func parseAnyName(t testing.TB, data []byte) *Key {
	t.Helper()
	k, err := parse(data, time.Now(), true)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return k
}

// deadline is a context whose deadline passes when the test says so
// (expire), not after a time: a test of what happens at a deadline then
// does not depend on the machine's speed. Contexts made from it end at
// once with it (it has AfterFunc, which the context package uses).
type deadline struct {
	context.Context
	mu    sync.Mutex
	done  chan struct{}
	after []func()
}

func newDeadline() *deadline {
	return &deadline{Context: context.Background(), done: make(chan struct{})}
}

func (d *deadline) Done() <-chan struct{} { return d.done }

func (d *deadline) Err() error {
	select {
	case <-d.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// expire ends the context, and every context made from it, before it
// returns; it may be called more than once.
func (d *deadline) expire() {
	d.mu.Lock()
	after := d.after
	select {
	case <-d.done:
		d.mu.Unlock()
		return
	default:
		close(d.done)
		d.after = nil
	}
	d.mu.Unlock()
	for _, f := range after {
		if f != nil {
			f()
		}
	}
}

// AfterFunc is what context.WithCancel and WithTimeout call on a parent of
// a type of their own, so that children end with it.
func (d *deadline) AfterFunc(f func()) (stop func() bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.done:
		go f()
		return func() bool { return false }
	default:
	}
	i := len(d.after)
	d.after = append(d.after, f)
	return func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		if i < len(d.after) && d.after[i] != nil {
			d.after[i] = nil
			return true
		}
		return false
	}
}

func formatError(t testing.TB, err error) *FormatError {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FormatError, got %T: %v", err, err)
	}
	return fe
}

func hasFinding(fs []Finding, path, contains string) bool {
	for _, f := range fs {
		// Every finding carries its code, whose English is the message.
		if f.Path == path && strings.Contains(f.Message, contains) && f.Code != "" && f.Message == f.English() {
			return true
		}
	}
	return false
}

// secretParts are substrings of a key's secret material that no output but
// Bytes and JSON(true) may contain: the client secret and the base64 body
// lines of a private key.
func secretParts(k *Key) []string {
	var parts []string
	if s := k.ClientSecret(); s != "" {
		parts = append(parts, s)
	}
	var root struct {
		UAA struct {
			Key string `json:"key"`
		} `json:"uaa"`
	}
	if err := json.Unmarshal(k.JSON(true), &root); err == nil && root.UAA.Key != "" {
		for _, line := range strings.Split(root.UAA.Key, "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				parts = append(parts, line)
			}
		}
	}
	return parts
}

func assertNoSecret(t testing.TB, what, out string, parts []string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(out, p) {
			t.Errorf("%s leaks secret material (%d bytes of it)", what, len(p))
		}
	}
}
