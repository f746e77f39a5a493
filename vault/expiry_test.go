package vault

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, on any machine

	"github.com/calmkey/calmkey/internal/testkeys"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

// TestCertExpiryCalendarDays: days are counted by the calendar in the
// viewer's zone, around midnight and across zones and daylight-saving days.
func TestCertExpiryCalendarDays(t *testing.T) {
	berlin, tokyo, ny := zone(t, "Europe/Berlin"), zone(t, "Asia/Tokyo"), zone(t, "America/New_York")
	tests := []struct {
		name          string
		now, notAfter time.Time
		days          int
		when          string
		soon, expired bool
	}{
		{"later today", time.Date(2026, 3, 10, 9, 0, 0, 0, berlin), time.Date(2026, 3, 10, 23, 59, 0, 0, berlin), 0, "today", true, false},
		{"tomorrow, one minute away", time.Date(2026, 3, 10, 23, 59, 0, 0, berlin), time.Date(2026, 3, 11, 0, 0, 0, 0, berlin), 1, "tomorrow", true, false},
		{"tomorrow, 47 hours away", time.Date(2026, 3, 10, 0, 0, 0, 0, berlin), time.Date(2026, 3, 11, 23, 0, 0, 0, berlin), 1, "tomorrow", true, false},
		{"just past midnight, 25 hours", time.Date(2026, 3, 10, 0, 1, 0, 0, berlin), time.Date(2026, 3, 11, 1, 1, 0, 0, berlin), 1, "tomorrow", true, false},
		{"five days at the same hour", time.Date(2026, 3, 10, 12, 0, 0, 0, berlin), time.Date(2026, 3, 15, 12, 0, 0, 0, berlin), 5, "in 5 days", true, false},
		{"five days, an hour less", time.Date(2026, 3, 10, 12, 0, 0, 0, berlin), time.Date(2026, 3, 15, 11, 0, 0, 0, berlin), 5, "in 5 days", true, false},
		// 2026-03-29 is 23 hours long in Berlin.
		{"across the spring change", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), time.Date(2026, 3, 30, 0, 30, 0, 0, berlin), 2, "in 2 days", true, false},
		{"30 days is soon", time.Date(2026, 3, 1, 12, 0, 0, 0, berlin), time.Date(2026, 3, 31, 12, 0, 0, 0, berlin), 30, "in 30 days", true, false},
		{"31 days is not", time.Date(2026, 3, 1, 12, 0, 0, 0, berlin), time.Date(2026, 4, 1, 12, 0, 0, 0, berlin), 31, "in 31 days", false, false},
		{"ended an hour ago, same day", time.Date(2026, 3, 10, 12, 0, 0, 0, berlin), time.Date(2026, 3, 10, 11, 0, 0, 0, berlin), 0, "expired", false, true},
		{"ends now", time.Date(2026, 3, 10, 12, 0, 0, 0, berlin), time.Date(2026, 3, 10, 12, 0, 0, 0, berlin), 0, "expired", false, true},
		{"ended yesterday", time.Date(2026, 3, 10, 12, 0, 0, 0, berlin), time.Date(2026, 3, 9, 23, 0, 0, 0, berlin), -1, "expired", false, true},
		// One instant, three viewers: 2026-03-10 23:30 UTC.
		{"UTC viewer at 22:00: today", time.Date(2026, 3, 10, 22, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC), 0, "today", true, false},
		{"Tokyo viewer at 07:00: today (08:30 there)", time.Date(2026, 3, 10, 22, 0, 0, 0, time.UTC).In(tokyo), time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC), 0, "today", true, false},
		{"New York viewer: today (19:30 there)", time.Date(2026, 3, 10, 22, 0, 0, 0, time.UTC).In(ny), time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC), 0, "today", true, false},
		{"Berlin viewer at 23:00: tomorrow (00:30 there)", time.Date(2026, 3, 10, 22, 0, 0, 0, time.UTC).In(berlin), time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC), 1, "tomorrow", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := CertExpiry(tt.notAfter, tt.now)
			if e.Days != tt.days || e.When() != tt.when || e.Soon != tt.soon || e.Expired != tt.expired {
				t.Errorf("got days %d %q soon %t expired %t; want %d %q %t %t", e.Days, e.When(), e.Soon, e.Expired, tt.days, tt.when, tt.soon, tt.expired)
			}
			if e.NotAfter.Location() != tt.now.Location() || !e.NotAfter.Equal(tt.notAfter) {
				t.Errorf("NotAfter %v is not the same instant in the viewer's zone", e.NotAfter)
			}
		})
	}
	if e := CertExpiry(time.Time{}, time.Now()); !e.IsZero() || e.When() != "" || e.Soon || e.Expired || e.Words("2006-01-02") != NoCertificate {
		t.Errorf("no certificate: %+v %q %q", e, e.When(), e.Words("2006-01-02"))
	}
}

// TestExpiryWords: the end in the viewer's zone, written with the view's
// layout, and how far off it is.
func TestExpiryWords(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	now := time.Date(2026, 11, 27, 23, 0, 0, 0, tokyo)
	for notAfter, want := range map[time.Time]string{
		now.Add(2 * time.Hour).UTC():       "2026-11-28 01:00 (tomorrow)",
		now.Add(30 * time.Minute).UTC():    "2026-11-27 23:30 (today)",
		now.Add(-time.Minute).UTC():        "2026-11-27 22:59 (expired)",
		now.Add(5 * 24 * time.Hour).UTC():  "2026-12-02 23:00 (in 5 days)",
		now.Add(90 * 24 * time.Hour).UTC(): "2027-02-25 23:00 (in 90 days)",
	} {
		if got := CertExpiry(notAfter, now).Words("2006-01-02 15:04"); got != want {
			t.Errorf("Words for %v seen in Tokyo = %q, want %q", notAfter, got, want)
		}
	}
}

// TestCertExpiryTomorrowNeverToday: at every minute of a day, a
// certificate that ends on the next calendar day reads "tomorrow", in the
// vault warning too, which is what the app and calmkeyctl show.
func TestCertExpiryTomorrowNeverToday(t *testing.T) {
	for _, loc := range []*time.Location{time.UTC, zone(t, "Pacific/Kiritimati"), zone(t, "Pacific/Pago_Pago"), zone(t, "Asia/Kolkata")} {
		day := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
		for now := day; now.Before(day.Add(24 * time.Hour)); now = now.Add(7 * time.Minute) {
			for _, end := range []time.Time{day.AddDate(0, 0, 1), day.AddDate(0, 0, 1).Add(24*time.Hour - time.Second)} {
				if w := CertExpiry(end, now).When(); w != "tomorrow" {
					t.Fatalf("%s: at %v, a certificate ending %v reads %q", loc, now, end, w)
				}
			}
		}
	}
}

// TestParseExpiryWarningAgrees: the format check's warning words the days
// exactly as CertExpiry does, in the viewer's zone.
func TestParseExpiryWarningAgrees(t *testing.T) {
	ca := testkeys.NewCA(t)
	for _, in := range []time.Duration{2 * time.Hour, 26 * time.Hour, 5*24*time.Hour - time.Minute, 5 * 24 * time.Hour, 29*24*time.Hour + 23*time.Hour} {
		notAfter := time.Now().Add(in).Truncate(time.Second)
		chain, key := ca.Client(t, "c", notAfter, testkeys.ECDSA)
		now := time.Now()
		k, err := parse(testkeys.X509Key(testkeys.Fields{}, chain, key), now, false)
		if err != nil {
			t.Fatal(err)
		}
		e := CertExpiry(k.CertExpiry, now)
		want := "expires on " + e.Date() + " (" + e.When() + ")"
		if !hasFinding(k.Warnings, "uaa.certificate", want) {
			t.Errorf("in %v: want a warning %q, got %v", in, want, k.Warnings)
		}
		if strings.Contains(want, "today") && in > 24*time.Hour {
			t.Errorf("in %v reads today", in)
		}
	}
}
