package vault

import (
	"context"
	"errors"
	"io"
)

// What the desktop app and calmkeyctl both need, in one place so that they
// agree.

// ServiceEnv names the environment variable that overrides the keychain
// service name (DefaultService). Tests set it so that they never touch a
// user's keys; the desktop app and calmkeyctl both honour it.
const ServiceEnv = "CALMKEY_KEYCHAIN_SERVICE"

// ServiceFromEnv is the keychain service name to use: the value of
// ServiceEnv as getenv (os.Getenv) gives it, or DefaultService when that
// is empty.
func ServiceFromEnv(getenv func(string) string) string {
	if s := getenv(ServiceEnv); s != "" {
		return s
	}
	return DefaultService
}

// ReadKeyFile reads the bytes of an uploaded key file from what open
// opens, stopping one byte past MaxFileSize (so that Parse refuses a huge or
// endless input with ErrTooLarge without it being read whole), and closes
// it. It gives up when ctx ends (a FIFO no one opens, a stdin or a network
// share that never ends) and returns ctx.Err(): the read is left behind in
// its goroutine, to end when the input does or with the process. The errors
// of open and of the read are returned as they are, for the caller to word.
func ReadKeyFile(ctx context.Context, open func() (io.ReadCloser, error)) ([]byte, error) {
	type read struct {
		data []byte
		err  error
	}
	got := make(chan read, 1)
	go func() {
		defer func() {
			// A reader that panics (a file dialog's, a network share's) is
			// an input that could not be read; its value is not shown, as
			// it might hold key material.
			if p := recover(); p != nil {
				got <- read{err: errors.New("reading failed with an internal error; please report it")}
			}
		}()
		rc, err := open()
		if err != nil {
			got <- read{err: err}
			return
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, MaxFileSize+1))
		got <- read{data, err}
	}()
	select {
	case rd := <-got:
		return rd.data, rd.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
