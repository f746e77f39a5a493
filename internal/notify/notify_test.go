package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/notify"
	"github.com/calmkey/calmkey/internal/notify/notifytest"
)

func TestEscape(t *testing.T) {
	got := notify.Escape(`a <b>x</b> & $(rm -rf ~) „q“`)
	if want := `a &lt;b&gt;x&lt;/b&gt; &amp; $(rm -rf ~) „q“`; got != want {
		t.Errorf("Escape = %q, want %q", got, want)
	}
}

func TestSendReachesTheService(t *testing.T) {
	harness.Require(t)
	fake := notifytest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := notify.Notifier{App: "calmkey", Icon: "calmkey"}
	name := `acme-$(touch /tmp/pwned) „x“ <i>`
	if err := n.Send(ctx, "Certificate of "+name, "Tenant "+name+" expires"); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("the service received %d calls, want 1:\n%s", len(calls), fake)
	}
	c := calls[0]
	if c.App != "calmkey" || c.Icon != "calmkey" || c.Timeout != -1 || c.ReplacesID != 0 || len(c.Actions) != 0 {
		t.Errorf("call = %+v", c)
	}
	// The summary is plain text by the specification; the body is escaped
	// for markup, and both arrive as data.
	if c.Summary != "Certificate of "+name {
		t.Errorf("summary = %q", c.Summary)
	}
	if want := "Tenant acme-$(touch /tmp/pwned) „x“ &lt;i&gt; expires"; c.Body != want {
		t.Errorf("body = %q, want %q", c.Body, want)
	}
}

func TestSendWithoutBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	err := notify.Notifier{App: "calmkey"}.Send(context.Background(), "t", "b")
	if !errors.Is(err, notify.ErrNoBus) {
		t.Errorf("Send without a bus = %v, want ErrNoBus", err)
	}
}
