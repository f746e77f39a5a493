package ui

import (
	"slices"

	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// sectionList is the tenants' sections, sorted by tenant name, in an
// accordion with one open: the one the keyboard shortcuts act on.
type sectionList struct {
	all       []*section
	accordion *widget.Accordion
	newSec    func(tenant string) *section
}

// byTenant is the section of tenant, nil when it has none.
func (l *sectionList) byTenant(tenant string) *section {
	for _, sec := range l.all {
		if sec.tenant == tenant {
			return sec
		}
	}
	return nil
}

// open is the section that is open, nil when all are collapsed.
func (l *sectionList) open() *section {
	for _, sec := range l.all {
		if sec.item.Open {
			return sec
		}
	}
	return nil
}

// corrupt reports a keychain whose keys cannot be listed because of damage
// that names no tenant: a section offers to delete it.
func (l *sectionList) corrupt() bool {
	return len(l.all) == 1 && l.all[0].tenant == "" && l.all[0].damage != nil
}

// testing reports whether a section's test runs.
func (l *sectionList) testing() bool {
	for _, sec := range l.all {
		if sec.running != nil {
			return true
		}
	}
	return false
}

// set makes es the sections, in order. A tenant's section stays (with its
// open state and a test that runs on the same key) across reads; a tenant
// that is gone loses its section and its running test.
func (l *sectionList) set(es []vault.Entry, tests almtest.LastTests) {
	old := map[string]*section{}
	for _, sec := range l.all {
		old[sec.tenant] = sec
	}
	secs := make([]*section, 0, len(es))
	for _, e := range es {
		sec := old[e.Tenant]
		if sec == nil {
			sec = l.newSec(e.Tenant)
		}
		delete(old, e.Tenant)
		var last *lastTest
		if e.Stored != nil {
			last = tests.For(e.Stored.Summary())
		}
		sec.setKey(e.Stored, e.Err, last)
		secs = append(secs, sec)
	}
	for _, gone := range old {
		gone.stopTest()
	}
	l.show(secs)
}

// setTests gives each section its key's last test from a new read of the
// shared record, the keys unchanged.
func (l *sectionList) setTests(tests almtest.LastTests) {
	for _, sec := range l.all {
		if sec.stored != nil {
			sec.setLast(tests.For(sec.stored.Summary()))
		}
	}
}

// remove takes sec out, as its key is deleted.
func (l *sectionList) remove(sec *section) {
	sec.stopTest()
	l.show(slices.DeleteFunc(slices.Clone(l.all), func(s *section) bool { return s == sec }))
}

// show makes secs the sections, in order. One is open: the one that was,
// else the first.
func (l *sectionList) show(secs []*section) {
	open := l.open()
	items := make([]*widget.AccordionItem, 0, len(secs))
	for _, sec := range secs {
		items = append(items, sec.item)
	}
	l.all = secs
	l.accordion.Items = items
	if len(secs) > 0 && (open == nil || l.byTenant(open.tenant) == nil) {
		l.openOnly(secs[0])
	}
	l.accordion.Refresh()
}

// openOnly opens sec's section and collapses the others.
func (l *sectionList) openOnly(sec *section) {
	for _, s := range l.all {
		s.item.Open = s == sec
	}
	l.accordion.Refresh()
}

// render draws every section, and the accordion once when a title changed.
func (l *sectionList) render(idle bool) {
	retitled := false
	for _, sec := range l.all {
		retitled = sec.render(idle) || retitled
	}
	if retitled {
		l.accordion.Refresh()
	}
}

// keys are the keys the sections show, by tenant (nil for a damaged one).
func (l *sectionList) keys() map[string]*vault.Stored {
	keys := map[string]*vault.Stored{}
	for _, sec := range l.all {
		keys[sec.tenant] = sec.stored
	}
	return keys
}
