package vault

import (
	"strconv"
	"time"
)

// ExpiryWarningDays: a client certificate that ends within this many days
// draws a warning (in the format check, the app and calmkeyctl).
const ExpiryWarningDays = 30

// Expiry is when a client certificate ends, as every view puts it: the
// format check's warning, the app's upload dialog and key screen, and
// calmkeyctl. Use CertExpiry to make one.
//
// Days are calendar days in the viewer's time zone (the location of the
// now passed to CertExpiry; time.Now() gives the local zone): a certificate
// that ends later today is "today", one that ends at any time tomorrow is
// "tomorrow", however few hours are left. That is how people count days
// before a deadline, it never says "today" for tomorrow, and it reads the
// same in every view at any moment of the day. A certificate whose end has
// passed is expired, even on its last calendar day.
type Expiry struct {
	NotAfter time.Time // in the viewer's time zone; zero for client-secret keys
	Days     int       // calendar days from today to NotAfter's day; 0 today, negative past
	Expired  bool      // NotAfter is not after now
	Soon     bool      // not expired, and at most ExpiryWarningDays days left
}

// CertExpiry describes notAfter as seen at now, in now's time zone. A zero
// notAfter (a client-secret key) gives the zero Expiry.
func CertExpiry(notAfter, now time.Time) Expiry {
	if notAfter.IsZero() {
		return Expiry{}
	}
	end := notAfter.In(now.Location())
	e := Expiry{NotAfter: end, Days: calendarDays(now, end), Expired: !end.After(now)}
	e.Soon = !e.Expired && e.Days <= ExpiryWarningDays
	return e
}

// calendarDays counts the midnights between a's day and b's day in a's
// location (negative when b's day comes first). Dates, not durations: a day
// with a daylight-saving change is still one day.
func calendarDays(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.In(a.Location()).Date()
	da := time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 12, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// Within reports a certificate that has expired or ends within days
// calendar days (Days <= days, the count When and Soon use): what
// calmkeyctl list --expiring and the window's reminders ask. False for a
// key without a certificate.
func (e Expiry) Within(days int) bool { return !e.IsZero() && (e.Expired || e.Days <= days) }

// IsZero reports a key without a certificate.
func (e Expiry) IsZero() bool { return e.NotAfter.IsZero() }

// Date is the day the certificate ends, in the viewer's time zone
// (2006-01-02).
func (e Expiry) Date() string { return e.NotAfter.Format("2006-01-02") }

// When says how far off the end is: "expired", "today", "tomorrow" or
// "in N days"; "" for a key without a certificate.
func (e Expiry) When() string { return e.WhenMsg().English() }

// WhenMsg is When as a message, for the window to word in its language;
// the zero Msg for a key without a certificate.
func (e Expiry) WhenMsg() Msg {
	switch {
	case e.IsZero():
		return Msg{}
	case e.Expired:
		return M("expiry.expired")
	case e.Days <= 0:
		return M("expiry.today")
	case e.Days == 1:
		return M("expiry.tomorrow")
	default:
		return M("expiry.inDays", "Days", strconv.Itoa(e.Days))
	}
}

// NoCertificate is how the views word the expiry of a key that has no
// client certificate.
const NoCertificate = "none (the key logs on with a client secret, which does not expire)"

// Words is the expiry as every view words it: the end written with layout
// and how far off it is, "2026-12-01 15:04 (in 5 days)" or
// "2026-11-20 09:00 (expired)"; NoCertificate for a key without a
// certificate.
func (e Expiry) Words(layout string) string {
	if e.IsZero() {
		return NoCertificate
	}
	return e.NotAfter.Format(layout) + " (" + e.When() + ")"
}
