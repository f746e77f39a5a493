package vault

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestServiceFromEnv(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := ServiceFromEnv(getenv); got != DefaultService {
		t.Errorf("unset: %q", got)
	}
	env[ServiceEnv] = "calmkey-test"
	if got := ServiceFromEnv(getenv); got != "calmkey-test" {
		t.Errorf("set: %q", got)
	}
}

// blockingReader never returns, as a FIFO no one writes to.
type blockingReader struct{ done chan struct{} }

func (b blockingReader) Read([]byte) (int, error) { <-b.done; return 0, io.EOF }
func (b blockingReader) Close() error             { return nil }

type panickingReader struct{}

func (panickingReader) Read([]byte) (int, error) { panic("secret-looking value") }
func (panickingReader) Close() error             { return nil }

// TestReadKeyFile: the size cap, the deadline, the errors of open and a
// reader that panics.
func TestReadKeyFile(t *testing.T) {
	ctx := context.Background()
	huge := strings.NewReader(strings.Repeat("x", 3*MaxFileSize))
	data, err := ReadKeyFile(ctx, func() (io.ReadCloser, error) { return io.NopCloser(huge), nil })
	if err != nil || len(data) != MaxFileSize+1 {
		t.Errorf("huge input: %d bytes, %v; want the cap plus one", len(data), err)
	}
	if _, err := Parse(data); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse of what was read: %v", err)
	}
	gone := errors.New("no such file")
	if _, err := ReadKeyFile(ctx, func() (io.ReadCloser, error) { return nil, gone }); !errors.Is(err, gone) {
		t.Errorf("open error: %v", err)
	}
	stuck := blockingReader{make(chan struct{})}
	defer close(stuck.done)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := ReadKeyFile(tctx, func() (io.ReadCloser, error) { return stuck, nil })
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a stuck input: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("ReadKeyFile does not end at its deadline")
	}
	_, err = ReadKeyFile(ctx, func() (io.ReadCloser, error) { return panickingReader{}, nil })
	if err == nil || strings.Contains(err.Error(), "secret-looking") {
		t.Errorf("a panicking reader: %v", err)
	}
}
