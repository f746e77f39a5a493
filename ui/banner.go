package ui

// Reminders. A certificate that runs out takes its key's logon with it, and
// nothing in SAP reminds the admin in time. So the window names, in a
// banner above the sections, the tenants whose certificate expires within
// 30 days or has expired and those whose last test failed, at start and
// again whenever a certificate crosses 30, 7 or 1 days left or expires
// while the window is open; the desktop is notified at the same moments
// (banner_notify*.go). A closed banner comes back for a tenant only at its
// next threshold (or its next failed test), across restarts: what was
// closed is kept in the app's preferences.

import (
	"image/color"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// reminderDays are the days left at which a certificate is named again;
// the first is vault's warning period, so the banner names exactly the
// certificates every other view warns about.
var reminderDays = []int{vault.ExpiryWarningDays, 7, 1}

// remindEvery is how often an open window looks whether a certificate
// crossed a threshold: days are calendar days, so a minute is early enough.
const remindEvery = time.Minute

// prefDismissed keeps the alerts the user closed (alert.id), so that they
// stay closed after a restart.
const prefDismissed = "rotation.dismissed"

// bannerMost is the most tenants the banner names one by one: beyond
// them it would push the sections out of the window; their titles say it.
const bannerMost = 4

type alertKind int

const (
	alertCert   alertKind = iota // the certificate expires soon or has expired
	alertFailed                  // the last test failed
)

// alert is one thing the banner says about a tenant.
type alert struct {
	tenant string
	kind   alertKind
	expiry vault.Expiry // alertCert
	level  int          // alertCert: the threshold crossed (30, 7, 1), 0 once expired
	tested time.Time    // alertFailed: when the failed test ran
	// id names the alert for dismissal: the tenant, and the threshold of
	// this certificate, or the failed test. A new key or a new failure is
	// a new alert.
	id string
}

// certLevel is the threshold e has crossed (0 when expired), by vault's
// day count (the one of calmkeyctl list --expiring); ok is false for a key
// without a certificate or one with more days left.
func certLevel(e vault.Expiry) (level int, ok bool) {
	if e.Expired {
		return 0, true
	}
	for _, d := range reminderDays {
		if e.Within(d) {
			level, ok = d, true
		}
	}
	return level, ok
}

// alertsOf are the alerts of the stored keys at now, certificates first,
// each group in the sections' order.
func alertsOf(secs []*section, now time.Time) []alert {
	var certs, failed []alert
	for _, sec := range secs {
		if sec.stored == nil {
			continue
		}
		e := vault.CertExpiry(sec.stored.Key.CertExpiry, now)
		if level, ok := certLevel(e); ok {
			id := "cert:" + strconv.Itoa(level) + ":" + strconv.FormatInt(e.NotAfter.Unix(), 10) + ":" + sec.tenant
			certs = append(certs, alert{tenant: sec.tenant, kind: alertCert, expiry: e, level: level, id: id})
		}
		if sec.last != nil && !sec.last.Report.OK {
			at := sec.last.At()
			id := "failed:" + strconv.FormatInt(at.UnixNano(), 10) + ":" + sec.tenant
			failed = append(failed, alert{tenant: sec.tenant, kind: alertFailed, tested: at, id: id})
		}
	}
	return append(certs, failed...)
}

// text is what the banner and a notification say about a.
func (a alert) text() string {
	data := map[string]any{"Tenant": vault.Printable(a.tenant)}
	if a.kind == alertFailed {
		data["Date"] = formatTime(a.tested)
		return lang.X("rotation.banner.failed", "{{.Tenant}}: the last test failed ({{.Date}}); its section says why.", data)
	}
	e := a.expiry
	data["Date"] = formatTime(e.NotAfter)
	data["Days"] = e.Days
	switch {
	case e.Expired:
		return lang.X("rotation.banner.expired", "{{.Tenant}}: the certificate expired on {{.Date}}. The key can no longer log on: replace it with a new key.", data)
	case e.Days <= 0:
		return lang.X("rotation.banner.today", "{{.Tenant}}: the certificate expires today ({{.Date}}). Replace the key now.", data)
	case e.Days == 1:
		return lang.X("rotation.banner.tomorrow", "{{.Tenant}}: the certificate expires tomorrow ({{.Date}}). Replace the key today.", data)
	default:
		return lang.XN("rotation.banner.days", "{{.Tenant}}: the certificate expires in {{.Days}} days ({{.Date}}). Replace the key before then.", e.Days, data)
	}
}

// banner is the reminders above the sections.
type banner struct {
	prefs fyne.Preferences
	now   func() time.Time
	// notify tells the desktop (see systemNotifier); nil where it is not
	// done (Windows).
	notify   func(title, body string)
	notified map[string]bool // the alerts the desktop was told of in this run
	shown    []alert         // what the rows show
	open     func(tenant string)
	stop     chan struct{}     // closed when the window closes; nil until started
	scroll   *container.Scroll // the sections', scrolled to the one opened

	box   *fyne.Container
	close *widget.Button
	rows  []*bannerRow
	list  *fyne.Container
	more  *widget.Label
}

// bannerRow is one tenant's line: what is wrong, and a button that opens
// its section.
type bannerRow struct {
	alert alert
	label *widget.Label
	open  *widget.Button
}

func newBanner(prefs fyne.Preferences, now func() time.Time, open func(tenant string)) *banner {
	b := &banner{prefs: prefs, now: now, open: open, notified: map[string]bool{}}
	b.close = &widget.Button{Text: lang.X("rotation.banner.close", "Close"), Icon: theme.CancelIcon(), Importance: widget.LowImportance, OnTapped: b.dismiss}
	b.list = container.NewVBox()
	b.more = &widget.Label{Wrapping: fyne.TextWrapWord}
	bg := canvas.NewRectangle(bannerColor())
	bg.CornerRadius = theme.InputRadiusSize()
	// No heading line: the window's default size must still show the
	// open section's last test below it.
	closeBox := container.NewVBox(b.close)
	b.box = container.NewStack(bg, container.NewBorder(nil, nil, container.NewVBox(widget.NewIcon(theme.WarningIcon())), closeBox, container.NewVBox(b.list, b.more)))
	b.box.Hide()
	return b
}

// bannerColor is the theme's warning colour, faint enough to read text on.
func bannerColor() color.Color {
	r, g, bl, _ := theme.Color(theme.ColorNameWarning).RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bl >> 8), A: 0x40}
}

// update shows the alerts of secs at the banner's now, less those the user
// closed, and tells the desktop of those it was not told of yet. definite
// is false while the keychain's answer is not known: what was closed is
// then kept as it is.
func (b *banner) update(secs []*section, definite bool) {
	all := alertsOf(secs, b.now())
	closed := b.dismissed()
	if definite {
		b.forget(secs, all, closed)
	}
	shown := slices.DeleteFunc(slices.Clone(all), func(a alert) bool { return closed[a.id] })
	b.tell(shown)
	b.show(shown)
}

// dismissed are the ids of the alerts the user closed.
func (b *banner) dismissed() map[string]bool {
	m := map[string]bool{}
	for _, id := range b.prefs.StringList(prefDismissed) {
		m[id] = true
	}
	return m
}

// forget drops what was closed and is over: a threshold passed, a key
// replaced or deleted, a failed test followed by another. A failed test's
// entry stays while its tenant's last test is not known (the record could
// not be read), so it does not come back after a read that failed.
func (b *banner) forget(secs []*section, all []alert, closed map[string]bool) {
	if len(closed) == 0 {
		return
	}
	keep := map[string]bool{}
	for _, a := range all {
		keep[a.id] = true
	}
	unknown := map[string]bool{}
	for _, sec := range secs {
		if sec.stored != nil && sec.last == nil {
			unknown[sec.tenant] = true
		}
	}
	var ids []string
	for _, id := range b.prefs.StringList(prefDismissed) {
		rest, failed := strings.CutPrefix(id, "failed:")
		_, tenant, _ := strings.Cut(rest, ":")
		if keep[id] || (failed && unknown[tenant]) {
			ids = append(ids, id)
		}
	}
	if len(ids) != len(closed) {
		b.prefs.SetStringList(prefDismissed, ids)
	}
}

// dismiss closes the banner: what it names now stays closed.
func (b *banner) dismiss() {
	ids := b.prefs.StringList(prefDismissed)
	for _, a := range b.shown {
		if !slices.Contains(ids, a.id) {
			ids = append(ids, a.id)
		}
	}
	b.prefs.SetStringList(prefDismissed, ids)
	b.show(nil)
}

// show makes the rows name alerts; the banner hides when there is none.
func (b *banner) show(alerts []alert) {
	if slices.EqualFunc(alerts, b.shown, func(x, y alert) bool { return x.id == y.id }) && len(b.rows) == min(len(alerts), bannerMost) {
		return
	}
	b.shown = alerts
	b.rows = b.rows[:0]
	objs := make([]fyne.CanvasObject, 0, bannerMost)
	for _, a := range alerts[:min(len(alerts), bannerMost)] {
		r := b.newRow(a)
		b.rows = append(b.rows, r)
		objs = append(objs, container.NewBorder(nil, nil, nil, r.open, r.label))
	}
	b.list.Objects = objs
	b.list.Refresh()
	if n := len(alerts) - bannerMost; n > 0 {
		b.more.SetText(lang.XN("rotation.banner.more", "… and {{.Count}} more: see the sections' titles.", n, map[string]any{"Count": n}))
		b.more.Show()
	} else {
		b.more.Hide()
	}
	show(b.box, len(alerts) > 0)
}

func (b *banner) newRow(a alert) *bannerRow {
	imp := widget.WarningImportance
	if a.kind == alertFailed || a.expiry.Expired || a.level <= 1 {
		imp = widget.DangerImportance
	}
	tenant := a.tenant
	return &bannerRow{
		alert: a,
		label: &widget.Label{Text: a.text(), Wrapping: fyne.TextWrapWord, Importance: imp},
		open:  &widget.Button{Text: lang.X("rotation.banner.open", "Open"), Icon: theme.NavigateNextIcon(), OnTapped: func() { b.open(tenant) }},
	}
}

// start looks every remindEvery, until the window closes, whether a
// certificate crossed a threshold: check runs on the UI goroutine.
func (b *banner) start(do func(func()), check func()) {
	if b.stop != nil {
		return
	}
	b.stop = make(chan struct{})
	go func(stop <-chan struct{}) {
		t := time.NewTicker(remindEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				do(check)
			}
		}
	}(b.stop)
}

// end stops the looking, once the window closes.
func (b *banner) end() {
	if b.stop != nil {
		close(b.stop)
		b.stop = nil
	}
}

// tell notifies the desktop, in one notification, of the certificates in
// shown it was not told of in this run: at start, and when one crosses a
// threshold. A failed test is not told: it was seen where it ran.
func (b *banner) tell(shown []alert) {
	var news []string
	for _, a := range shown {
		if a.kind == alertCert && !b.notified[a.id] {
			b.notified[a.id] = true
			news = append(news, a.text())
		}
	}
	if len(news) == 0 || b.notify == nil {
		return
	}
	title := lang.X("rotation.notify.one", "calmkey: a service key needs your attention")
	if len(news) > 1 {
		title = lang.XN("rotation.notify.several", "calmkey: {{.Count}} service keys need your attention", len(news), map[string]any{"Count": len(news)})
	}
	b.notify(title, strings.Join(news, "\n"))
}

// openSection opens tenant's section, the others collapsed, and scrolls
// the sections to it.
func (w *window) openSection(tenant string) {
	sec := w.secs.byTenant(tenant)
	if sec == nil {
		return
	}
	w.secs.openOnly(sec)
	if b := w.banner; b.scroll != nil {
		// The sections above it are collapsed: its header is as far down
		// as their headers and paddings, which its details' position
		// (just laid out) gives.
		i := float32(slices.Index(w.secs.all, sec))
		pad := theme.Padding()
		header := (sec.item.Detail.Position().Y - (i+1)*pad) / (i + 1)
		b.scroll.Refresh()
		b.scroll.ScrollToOffset(fyne.NewPos(0, i*(header+pad)))
	}
}
