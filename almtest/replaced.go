package almtest

import (
	"context"
	"slices"
	"time"

	"github.com/calmkey/calmkey/vault"
)

// Replacement is one key replaced by another (vault.Store.Replace): when,
// and the client ids before and after. The history keeps each, so that
// the window and calmkeyctl can say "replaced 2026-12-03, was sb-…".
type Replacement struct {
	Tenant      string    `json:"tenant"`
	At          time.Time `json:"at"` // the new key's upload time
	OldClientID string    `json:"old_client_id"`
	NewClientID string    `json:"new_client_id"`
	// NewSHA256 is the new key's (vault.Identity.SHA256): the record is
	// shown only while that key is stored (see Replacements.Last).
	NewSHA256 string `json:"new_sha256"`
}

// NewReplacement is the record of the key old replaced by st.
func NewReplacement(old vault.Identity, st *vault.Stored) Replacement {
	id := st.Identity()
	return Replacement{Tenant: id.Tenant, At: id.UploadedAt, OldClientID: old.ClientID, NewClientID: id.ClientID, NewSHA256: id.SHA256}
}

// Replacements are the recorded replacements by tenant, oldest first.
type Replacements map[string][]Replacement

// replacementsKept bounds the replacements kept per tenant.
const replacementsKept = 20

// Last is the tenant's last replacement, while the key it put in is the
// one sum describes; nil otherwise (never replaced, or deleted and
// uploaded again since).
func (rs Replacements) Last(sum vault.Summary) *Replacement {
	list := rs[sum.Tenant]
	if len(list) == 0 {
		return nil
	}
	r := list[len(list)-1]
	if r.NewSHA256 != sum.SHA256 || r.NewClientID != sum.ClientID || !r.At.Equal(sum.UploadedAt) {
		return nil
	}
	return &r
}

// RecordReplacement keeps r in the history and, in the same write, test
// as the tenant's last test: the test that let the new key in. test is nil
// when the key went in untested (calmkeyctl replace --no-test).
func (h *History) RecordReplacement(ctx context.Context, r Replacement, test *LastTest) error {
	return h.update(ctx, func(hf *historyFile) {
		if test != nil && test.Report != nil {
			hf.Tests[test.Tenant] = *test
		}
		if hf.Replacements == nil {
			hf.Replacements = Replacements{}
		}
		list := append(hf.Replacements[r.Tenant], r)
		if len(list) > replacementsKept {
			list = slices.Clone(list[len(list)-replacementsKept:])
		}
		hf.Replacements[r.Tenant] = list
	})
}

// Replacements returns every recorded replacement; none when there are
// none.
func (h *History) Replacements(ctx context.Context) (Replacements, error) {
	var rs Replacements
	err := h.locked(ctx, false, func() error {
		hf, err := h.read()
		rs = hf.Replacements
		return err
	})
	if rs == nil {
		rs = Replacements{}
	}
	return rs, err
}

// cleaned is rs with only the records of the shape calmkey writes, whose
// names a stored key could have (see LastTest.cleaned).
func (rs Replacements) cleaned() Replacements {
	c := newCleaner(nil)
	out := Replacements{}
	for tenant, list := range rs {
		var kept []Replacement
		for _, r := range list {
			if r.Tenant == tenant && alreadyClean(c, r.Tenant) && alreadyClean(c, r.OldClientID) &&
				alreadyClean(c, r.NewClientID) && r.NewSHA256 != "" && hashOrNone(r.NewSHA256) && !r.At.IsZero() {
				kept = append(kept, r)
			}
		}
		if len(kept) > replacementsKept {
			kept = kept[len(kept)-replacementsKept:]
		}
		if len(kept) > 0 {
			out[tenant] = kept
		}
	}
	return out
}
