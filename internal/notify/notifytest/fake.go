// Package notifytest is a fake org.freedesktop.Notifications service for
// tests: it owns the service's name on a session bus (the test session's
// private one) and keeps every notification it is sent.
package notifytest

import (
	"fmt"
	"sync"
	"testing"

	dbus "github.com/godbus/dbus/v5"

	"github.com/calmkey/calmkey/internal/notify"
)

// Call is one Notify call as the fake received it.
type Call struct {
	App, Icon, Summary, Body string
	ReplacesID               uint32
	Actions                  []string
	Timeout                  int32
}

// Fake is the service. Its methods are safe from any goroutine.
type Fake struct {
	mu    sync.Mutex
	calls []Call
	conn  *dbus.Conn
}

// server is what the fake exports: godbus exports every method of the
// value, so the fake's own methods stay out of it.
type server struct{ f *Fake }

// Notify is the specification's Notify: it records the call and returns
// an id, as a server does.
func (s server) Notify(app string, replaces uint32, icon, summary, body string, actions []string, _ map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.calls = append(s.f.calls, Call{App: app, ReplacesID: replaces, Icon: icon, Summary: summary, Body: body, Actions: actions, Timeout: timeout})
	return uint32(len(s.f.calls)), nil
}

// GetServerInformation is answered as a server would, for clients that ask.
func (server) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "notifytest", "calmkey", "1", "1.2", nil
}

// Start claims the service's name on the session bus for the test (failing
// it when another owner holds the name) and gives it up at the test's end.
func Start(t testing.TB) *Fake {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("connecting to the session bus: %v", err)
	}
	f := &Fake{conn: conn}
	if err := conn.Export(server{f}, notify.Path, notify.Service); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(notify.Service, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		_ = conn.Close()
		t.Fatalf("owning %s on the test bus: reply %v, %v", notify.Service, reply, err)
	}
	t.Cleanup(func() {
		_, _ = conn.ReleaseName(notify.Service)
		_ = conn.Close()
	})
	return f
}

// Calls are the notifications received so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// String lists the calls, for a test's failure message.
func (f *Fake) String() string {
	s := ""
	for i, c := range f.Calls() {
		s += fmt.Sprintf("%d: %q / %q\n", i+1, c.Summary, c.Body)
	}
	return s
}
