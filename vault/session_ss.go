//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	dbus "github.com/godbus/dbus/v5"
	ss "github.com/zalando/go-keyring/secret_service"
)

// ssBackend does what go-keyring's Secret Service provider does, with the
// same collection, item labels and attributes (so either reads what the
// other wrote), but finds and unlocks the collection and opens the transfer
// session once per Store operation instead of once per item: a go-keyring
// Get is seven D-Bus round trips, here it is two.
type ssBackend struct {
	svc        *ss.SecretService
	collection dbus.BusObject
	session    dbus.BusObject
}

// errNoSessionBus: godbus, asked for the session bus when there is none,
// runs dbus-launch, which starts a dbus-daemon that outlives the process
// (one per cron run). calmkey asks for the bus only when it can find one.
var errNoSessionBus = errors.New("there is no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set, and there is no $XDG_RUNTIME_DIR/bus")

// sessionBusKnown returns errNoSessionBus (wrapping ErrUnavailable) unless
// the session bus can be found without starting one: DBUS_SESSION_BUS_ADDRESS
// (not "autolaunch:"), or the bus socket in $XDG_RUNTIME_DIR or
// /run/user/UID, where godbus looks too. A socket found in $XDG_RUNTIME_DIR
// alone is handed to godbus through DBUS_SESSION_BUS_ADDRESS, as godbus
// itself does with the one it finds.
func sessionBusKnown() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	runUser := filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(filepath.Join(runUser, name)); err == nil {
			return nil
		}
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" && filepath.IsAbs(dir) {
		sock := filepath.Join(dir, "bus")
		if st, err := os.Stat(sock); err == nil && st.Mode().Type() == os.ModeSocket {
			// godbus reads the variable on every connect.
			_ = os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+dbus.EscapeBusAddressValue(sock))
			return nil
		}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, errNoSessionBus)
}

func openSecretService() (Backend, func(), error) {
	if err := sessionBusKnown(); err != nil {
		return nil, nil, err
	}
	svc, err := ss.NewSecretService()
	if err != nil {
		return nil, nil, keyringErr(err)
	}
	// The transfer session does not depend on the collection: ask for both
	// at once, one D-Bus round trip fewer on every Store operation.
	type opened struct {
		session dbus.BusObject
		err     error
	}
	sessionCh := make(chan opened, 1)
	go func() {
		s, err := svc.OpenSession()
		sessionCh <- opened{s, err}
	}()
	collection := svc.GetLoginCollection()
	unlockErr := svc.Unlock(collection.Path())
	o := <-sessionCh
	if o.err == nil && unlockErr != nil {
		_ = svc.Close(o.session)
	}
	if unlockErr != nil {
		return nil, nil, keyringErr(unlockErr)
	}
	if o.err != nil {
		return nil, nil, keyringErr(o.err)
	}
	session := o.session
	b := &ssBackend{svc: svc, collection: collection, session: session}
	return b, func() { _ = svc.Close(session) }, nil
}

func (b *ssBackend) find(service, user string) (dbus.ObjectPath, error) {
	items, err := b.svc.SearchItems(b.collection, map[string]string{"username": user, "service": service})
	if err != nil {
		return "", keyringErr(err)
	}
	if len(items) == 0 {
		return "", fmt.Errorf("%s/%s: %w", service, user, ErrNotFound)
	}
	return items[0], nil
}

func (b *ssBackend) Get(service, user string) (string, error) {
	item, err := b.find(service, user)
	if err != nil {
		return "", err
	}
	secret, err := b.svc.GetSecret(item, b.session.Path())
	if err != nil {
		return "", keyringErr(err)
	}
	return string(secret.Value), nil
}

func (b *ssBackend) Set(service, user, secret string) error {
	// CreateItem replaces an item with the same attributes.
	return keyringErr(b.svc.CreateItem(b.collection,
		fmt.Sprintf("Password for '%s' on '%s'", user, service),
		map[string]string{"username": user, "service": service},
		ss.NewSecret(b.session.Path(), secret)))
}

func (b *ssBackend) Delete(service, user string) error {
	item, err := b.find(service, user)
	if err != nil {
		return err
	}
	return keyringErr(b.svc.Delete(item))
}

func (b *ssBackend) DeleteAll(service string) error {
	if service == "" {
		return fmt.Errorf("no service name")
	}
	items, err := b.svc.SearchItems(b.collection, map[string]string{"service": service})
	if err != nil {
		return keyringErr(err)
	}
	for _, item := range items {
		if err := b.svc.Delete(item); err != nil {
			return keyringErr(err)
		}
	}
	return nil
}
