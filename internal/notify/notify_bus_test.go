//go:build !windows && !darwin

package notify_test

// The fake notification service runs on the test session's private D-Bus,
// which only scripts/test-session starts, on Linux. Windows gets no desktop
// notification from calmkey (see ui/banner_notify_windows.go), and under
// Wine there is no session bus, so this test is not built there.

import (
	"context"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/notify"
	"github.com/calmkey/calmkey/internal/notify/notifytest"
)

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
