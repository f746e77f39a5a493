// Package notify shows desktop notifications through the freedesktop
// Notifications service (org.freedesktop.Notifications on the session
// D-Bus), which GNOME, KDE, Xfce and most Linux desktops provide. It does
// not import Fyne: the window decides when to notify, this package only
// delivers.
//
// The text travels as D-Bus string arguments, never through a shell or a
// script, so a tenant name cannot run anything. The body is escaped for the
// small markup subset servers may interpret (&, <, >), so it shows as
// written.
package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	dbus "github.com/godbus/dbus/v5"
)

// The service's well-known name, object and method, from the Desktop
// Notifications Specification.
const (
	Service = "org.freedesktop.Notifications"
	Path    = dbus.ObjectPath("/org/freedesktop/Notifications")
	Method  = Service + ".Notify"
)

// ErrNoBus: there is no session bus to find. godbus would run dbus-launch,
// which starts a daemon that outlives the app; a notification is not worth
// that.
var ErrNoBus = errors.New("there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")

// Notifier sends notifications as one application.
type Notifier struct {
	App  string // the application's name, as the server shows it
	Icon string // an icon name or file URI; "" for none
	// Address is the bus to use; "" finds the session bus as godbus
	// would, without starting one.
	Address string
}

// Send shows a notification with title and body, once, for the server's
// default time. ctx bounds connecting and the call.
func (n Notifier) Send(ctx context.Context, title, body string) error {
	addr := n.Address
	if addr == "" {
		var err error
		if addr, err = sessionAddress(); err != nil {
			return err
		}
	}
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("connecting to the session bus: %w", err)
	}
	defer func() { _ = conn.Close() }()
	var id uint32
	call := conn.Object(Service, Path).CallWithContext(ctx, Method, 0,
		n.App, uint32(0), n.Icon, title, Escape(body), []string{}, map[string]dbus.Variant{}, int32(-1))
	if err := call.Store(&id); err != nil {
		return fmt.Errorf("showing the notification: %w", err)
	}
	return nil
}

// sessionAddress is the session bus's address: DBUS_SESSION_BUS_ADDRESS,
// else the socket in $XDG_RUNTIME_DIR, where godbus looks too.
func sessionAddress() (string, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a, nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" && filepath.IsAbs(dir) {
		sock := filepath.Join(dir, "bus")
		if st, err := os.Stat(sock); err == nil && st.Mode().Type() == os.ModeSocket {
			return "unix:path=" + dbus.EscapeBusAddressValue(sock), nil
		}
	}
	return "", ErrNoBus
}

// Escape makes text show as written on a server that reads the body's
// markup (the specification's <b>, <i>, <a> and entities).
func Escape(text string) string { return escaper.Replace(text) }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
