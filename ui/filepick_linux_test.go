package ui

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/godbus/dbus/v5"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// fakePortal is a file chooser portal on the test session's private D-Bus:
// it answers each OpenFile or SaveFile as a desktop's dialog would, on the
// Request object named by the caller's handle_token, with response 0 and
// path (or 1, cancelled, when path is "").
type fakePortal struct {
	conn  *dbus.Conn
	path  string // set before it is on the bus: read by godbus's goroutines
	calls chan portalCall
}

// portalCall is what the fake portal was asked.
type portalCall struct {
	method, parent, title string
	opts                  map[string]dbus.Variant
}

// startFakePortal answers with path (with Cancel when it is "").
func startFakePortal(t *testing.T, path string) *fakePortal {
	t.Helper()
	harness.Require(t)
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &fakePortal{conn: conn, path: path, calls: make(chan portalCall, 4)}
	if err := conn.Export(p, portalPath, portalChooser); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(portalName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("the fake portal could not take %s on the session bus: %v (reply %v)", portalName, err, reply)
	}
	return p
}

func (p *fakePortal) OpenFile(sender dbus.Sender, parent, title string, opts map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	return p.answer("OpenFile", sender, parent, title, opts)
}

func (p *fakePortal) SaveFile(sender dbus.Sender, parent, title string, opts map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	return p.answer("SaveFile", sender, parent, title, opts)
}

func (p *fakePortal) answer(method string, sender dbus.Sender, parent, title string, opts map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	p.calls <- portalCall{method, parent, title, opts}
	token, _ := opts["handle_token"].Value().(string)
	handle := dbus.ObjectPath(portalPath + "/request/" + strings.ReplaceAll(strings.TrimPrefix(string(sender), ":"), ".", "_") + "/" + token)
	status, results := uint32(1), map[string]dbus.Variant{}
	if p.path != "" {
		status = 0
		u := url.URL{Scheme: "file", Path: p.path}
		results["uris"] = dbus.MakeVariant([]string{u.String()})
	}
	// As a portal does: the answer comes after the call has returned.
	go p.conn.Emit(handle, portalRequest+".Response", status, results) //nolint:errcheck // a lost answer fails the test by its wait
	return handle, nil
}

// call waits for what the fake portal was asked.
func (p *fakePortal) call(t *testing.T) portalCall {
	t.Helper()
	select {
	case c := <-p.calls:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("the portal was not asked")
		return portalCall{}
	}
}

// usePortal puts the real portal picker behind the window's dialogs.
func (f *fixture) usePortal() {
	f.w.seam.native = &nativeDialogs{picker: portalPicker{}, win: f.win}
}

func TestPortalOpenStoresTheChosenFile(t *testing.T) {
	u := keyFile(t, "acme key.json", testkeys.SecretKey(testkeys.Fields{}))
	p := startFakePortal(t, u.Path())
	f := newFixture(t, fixtureOpts{})
	f.load()
	f.usePortal()
	last := t.TempDir()
	f.app.Preferences().SetString(prefUploadFolder, last)

	test.Tap(f.w.bar.upload)
	c := p.call(t)
	folder, _ := c.opts["current_folder"].Value().([]byte)
	if c.method != "OpenFile" || c.title != "Add a tenant's service key" || string(folder) != last+"\x00" {
		t.Errorf("the portal was asked %s %q starting in %q", c.method, c.title, folder)
	}
	if filters, ok := c.opts["filters"].Value().([][]any); !ok || len(filters) != 2 {
		t.Errorf("filters %v, want the key files' and all files'", c.opts["filters"])
	}
	f.waitCheck()
	v := f.w.dialogs.upload
	if v == nil {
		t.Fatalf("no confirmation; notice %q", f.noticeText())
	}
	v.dialog.Confirm()
	f.idle()
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if st.FileName != "acme key.json" || st.Key.Tenant != testkeys.Tenant {
		t.Errorf("stored %q from %q", st.Key.Tenant, st.FileName)
	}
}

func TestPortalCancelChangesNothing(t *testing.T) {
	p := startFakePortal(t, "")
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	f.usePortal()
	last := t.TempDir()
	f.app.Preferences().SetString(prefDownloadFolder, last)

	test.Tap(f.sec().row.downloadButton)
	c := p.call(t)
	if name, _ := c.opts["current_name"].Value().(string); c.method != "SaveFile" || name != testkeys.Tenant+"-service-key.txt" {
		t.Errorf("the portal was asked %s with the name %q", c.method, name)
	}
	f.pickDone()
	test.Tap(f.w.bar.upload)
	p.call(t)
	f.pickDone()
	f.drain(50 * time.Millisecond)
	if f.overlayShown() || f.w.dialogs.notice != nil {
		t.Errorf("a cancelled portal dialog led somewhere; notice %q", f.noticeText())
	}
	if entries, _ := os.ReadDir(last); len(entries) != 0 {
		t.Errorf("Cancel wrote %v", entries)
	}
	st, err := f.stored()
	if err != nil || st.Key.Tenant != k.Tenant || len(f.w.secs.all) != 1 {
		t.Errorf("after Cancel the keychain holds %v (%v), %d sections", st, err, len(f.w.secs.all))
	}
}

func TestPortalSaveWritesTheChosenPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "from portal.txt")
	p := startFakePortal(t, path)
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	f.usePortal()

	test.Tap(f.sec().row.downloadButton)
	p.call(t)
	f.waitSavedTo(path, k)
}

func TestPortalMissingFallsBackToFynesDialog(t *testing.T) {
	harness.Require(t)
	// No fake portal: the test session's bus has none.
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	f.usePortal()
	test.Tap(f.sec().row.downloadButton)
	f.pumpUntil("calmkey's own download dialog", func() bool { return f.w.dialogs.download != nil })
}

func TestPortalNamesTheCalmkeyWindowAsParent(t *testing.T) {
	p := startFakePortal(t, "")
	path, err := portalPicker{}.pickOpen(pickRequest{owner: 0x2a00005, title: "t", keyFiles: "k", allFiles: "a"})
	if path != "" || err != nil {
		t.Errorf("a cancelled pick gave %q, %v", path, err)
	}
	if c := p.call(t); c.parent != "x11:2a00005" {
		t.Errorf("the portal was given the parent %q, want x11:2a00005", c.parent)
	}
}

func TestPortalAnswer(t *testing.T) {
	uris := func(u ...string) map[string]dbus.Variant { return map[string]dbus.Variant{"uris": dbus.MakeVariant(u)} }
	for _, tc := range []struct {
		name    string
		body    []any
		path    string
		wantErr bool
	}{
		{"chosen", []any{uint32(0), uris("file:///tmp/a%20b/key.json")}, "/tmp/a b/key.json", false},
		{"cancelled", []any{uint32(1), map[string]dbus.Variant{}}, "", false},
		{"ended otherwise", []any{uint32(2), map[string]dbus.Variant{}}, "", false},
		{"no file", []any{uint32(0), map[string]dbus.Variant{}}, "", true},
		{"not a local file", []any{uint32(0), uris("sftp://host/key.json")}, "", true},
		{"malformed", []any{uint32(0)}, "", true},
	} {
		path, err := portalAnswer(tc.body)
		if path != tc.path || (err != nil) != tc.wantErr {
			t.Errorf("%s: %q, %v; want %q, error %v", tc.name, path, err, tc.path, tc.wantErr)
		}
	}
}
