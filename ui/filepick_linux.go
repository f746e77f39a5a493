package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// portalPicker shows the desktop's file chooser through the
// org.freedesktop.portal.FileChooser portal on the session bus: GNOME's,
// KDE's or another desktop's own dialog. It talks D-Bus itself rather than
// through rymdport/portal, which starts listening for the answer only after
// asking (an answer that comes first is lost) and waits for it with no end.
type portalPicker struct{}

func platformPicker() picker { return portalPicker{} }

// downloadsFolder is where the file dialogs start when no folder was used
// yet (if it exists).
func downloadsFolder(home string) string { return filepath.Join(home, "Downloads") }

const (
	portalName    = "org.freedesktop.portal.Desktop"
	portalPath    = "/org/freedesktop/portal/desktop"
	portalChooser = "org.freedesktop.portal.FileChooser"
	portalRequest = "org.freedesktop.portal.Request"
)

// portalWithin bounds the calls to the bus; the user's time in the dialog
// itself is not bounded.
const portalWithin = 10 * time.Second

// errNoPortal: the session bus has no portal; Fyne's dialog is used.
var errNoPortal = errors.New("the session bus has no file chooser portal (" + portalName + ")")

// portalFilter is the portal's a(sa(us)): a name and glob rules (type 0).
type portalFilter struct {
	Name  string
	Rules []portalRule
}

type portalRule struct {
	Kind    uint32
	Pattern string
}

func (portalPicker) pickOpen(r pickRequest) (string, error) {
	keys := portalFilter{r.keyFiles, []portalRule{{0, "*.txt"}, {0, "*.json"}, {0, "*.TXT"}, {0, "*.JSON"}}}
	opts := map[string]dbus.Variant{
		"filters":        dbus.MakeVariant([]portalFilter{keys, {r.allFiles, []portalRule{{0, "*"}}}}),
		"current_filter": dbus.MakeVariant(keys),
	}
	return portalPick("OpenFile", r, opts)
}

// asksBeforeReplacing: the portal's API does not promise that its backend
// (GNOME's, KDE's, another desktop's) asks, so calmkey asks itself.
func (portalPicker) asksBeforeReplacing() bool { return false }

func (portalPicker) pickSave(r pickRequest) (string, error) {
	return portalPick("SaveFile", r, map[string]dbus.Variant{"current_name": dbus.MakeVariant(r.name)})
}

// portalPick asks the portal and waits for the user's answer: the path
// chosen, "" when cancelled. It uses a connection of its own, closed after,
// so that its signal subscription ends with it.
func portalPick(method string, r pickRequest, opts map[string]dbus.Variant) (string, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), portalWithin)
	defer cancel()
	if err := hasPortal(ctx, conn); err != nil {
		return "", err
	}
	token, err := handleToken()
	if err != nil {
		return "", err
	}
	// The portal answers on a Request object whose path it derives from
	// the caller's bus name and the token: listen there before asking.
	sender := strings.ReplaceAll(strings.TrimPrefix(conn.Names()[0], ":"), ".", "_")
	want := dbus.ObjectPath(portalPath + "/request/" + sender + "/" + token)
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(portalRequest), dbus.WithMatchMember("Response")); err != nil {
		return "", err
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	opts["handle_token"] = dbus.MakeVariant(token)
	opts["modal"] = dbus.MakeVariant(true)
	if r.folder != "" {
		opts["current_folder"] = dbus.MakeVariant(append([]byte(r.folder), 0))
	}
	parent := ""
	if r.owner != 0 {
		parent = fmt.Sprintf("x11:%x", r.owner)
	}
	var handle dbus.ObjectPath
	call := conn.Object(portalName, portalPath).CallWithContext(ctx, portalChooser+"."+method, 0, parent, r.title, opts)
	if err := call.Store(&handle); err != nil {
		return "", err
	}
	for sig := range signals {
		// Portals before version 0.9 answer on the handle they return.
		if sig.Name == portalRequest+".Response" && (sig.Path == want || sig.Path == handle) {
			return portalAnswer(sig.Body)
		}
	}
	return "", errors.New("the session bus closed before the file chooser answered")
}

// hasPortal reports whether the portal runs or the bus can start it.
func hasPortal(ctx context.Context, conn *dbus.Conn) error {
	var running bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, portalName).Store(&running); err != nil {
		return err
	}
	if running {
		return nil
	}
	var startable []string
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&startable); err != nil {
		return err
	}
	if slices.Contains(startable, portalName) {
		return nil
	}
	return errNoPortal
}

func handleToken() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "calmkey" + hex.EncodeToString(b), nil
}

// portalAnswer reads a Response: (u response, a{sv} results); response 0
// is a choice, 1 a cancel, 2 "ended some other way", which changes nothing
// either.
func portalAnswer(body []any) (string, error) {
	if len(body) != 2 {
		return "", fmt.Errorf("the file chooser answered with %d values, not 2", len(body))
	}
	status, _ := body[0].(uint32)
	results, _ := body[1].(map[string]dbus.Variant)
	if status != 0 {
		return "", nil
	}
	uris, _ := results["uris"].Value().([]string)
	if len(uris) == 0 {
		return "", errors.New("the file chooser answered with no file")
	}
	u, err := url.Parse(uris[0])
	if err != nil {
		return "", err
	}
	if u.Scheme != "file" || u.Path == "" {
		return "", fmt.Errorf("the file chooser chose %s, which is not a file on this computer", u.Redacted())
	}
	return u.Path, nil
}
