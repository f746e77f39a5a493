package vault

import (
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

// KeyringBackend is the operating system's keychain through go-keyring:
// Secret Service (GNOME Keyring, KeePassXC) on Linux, the login keychain on
// macOS, Credential Manager on Windows. On Linux items go to the "login"
// collection (or the default one). Used by a Store on Linux, it binds one
// Secret Service session to each Store operation (through go-keyring's
// secret_service package, with go-keyring's item labels and attributes),
// since go-keyring's per-call setup would otherwise be paid for every part.
// It never starts a D-Bus daemon: with no session bus to be found, every
// call fails with ErrUnavailable.
type KeyringBackend struct{}

// Get reads an item.
func (KeyringBackend) Get(service, user string) (string, error) {
	if err := sessionBusKnown(); err != nil {
		return "", err
	}
	v, err := keyring.Get(service, user)
	return v, keyringErr(err)
}

// Set writes an item, replacing one of the same name.
func (KeyringBackend) Set(service, user, secret string) error {
	if err := sessionBusKnown(); err != nil {
		return err
	}
	return keyringErr(keyring.Set(service, user, secret))
}

// Delete removes an item.
func (KeyringBackend) Delete(service, user string) error {
	if err := sessionBusKnown(); err != nil {
		return err
	}
	return keyringErr(keyring.Delete(service, user))
}

// keyringErr sorts go-keyring's errors: missing items and oversized data are
// what they say; everything else (no D-Bus, no Secret Service, a locked or
// missing collection, a dismissed prompt) means the keychain is unavailable.
func keyringErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return err
	default:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
}
