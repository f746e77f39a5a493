package vault

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// TenantMismatchError is a replacement key for another tenant than the
// stored key's. It matches ErrOtherTenant. The names are raw: escape them
// with Printable to show them.
type TenantMismatchError struct {
	Stored string // the stored key's tenant
	New    string // the new key's tenant (uaa.identityzone)
}

func (e *TenantMismatchError) Error() string {
	return fmt.Sprintf("the new key is for tenant %s, but the stored key is for tenant %s: a key replaces only a key of its own tenant; upload it as a key of its own, or choose the key file of tenant %s",
		Printable(e.New), Printable(e.Stored), Printable(e.Stored))
}

// Is makes errors.Is(err, ErrOtherTenant) true.
func (e *TenantMismatchError) Is(target error) bool { return target == ErrOtherTenant }

// CheckReplace is the check a replacement passes before it is tested:
// key must be for old's tenant (else a *TenantMismatchError) and must not
// be the stored key itself (else an error matching ErrIdentical: "already
// stored", nothing to change). old is the stored key's Summary. Replace
// checks the same again under the keychain lock.
func CheckReplace(old Summary, key *Key) error {
	if key == nil || key.Tenant != old.Tenant {
		n := ""
		if key != nil {
			n = key.Tenant
		}
		return &TenantMismatchError{Stored: old.Tenant, New: n}
	}
	if old.SHA256 != "" && old.SHA256 == bytesSHA256(key.Bytes()) {
		return identical(old.Tenant)
	}
	return nil
}

func identical(tenant string) error {
	return &Error{kind: ErrIdentical, facts: ErrorFacts{Tenant: tenant}, msg: fmt.Sprintf("this service key is already stored for tenant %s; nothing was changed", Printable(tenant))}
}

// Replace swaps the stored key of old's tenant for key, under the keychain
// lock, and returns the new key as stored (its UploadedAt is now). It
// first checks, under the lock, what CheckReplace checks, that the tenant
// has a key (ErrNotFound) and that it is still old (else ErrChanged:
// another program replaced it meanwhile). Any error means the old key is
// still stored, whole and unchanged, except an ErrTimeout that says
// otherwise.
//
// The swap never leaves the tenant without a key or with a mix of two: the
// tenant goes on the index's tidy list; the new key's parts are written in
// the part set the manifest does not name, beside the old key's; the
// manifest, one item, is rewritten to name the new parts (the switch);
// the old parts are deleted; the tenant leaves the tidy list. Cut short
// anywhere (a crash, kill -9, a keychain error), the manifest names one
// whole key, old or new, and the next command that writes, or reads and
// sees the tidy list, removes the other key's parts.
func (s *Store) Replace(ctx context.Context, old Identity, key *Key, fileName string) (*Stored, error) {
	if key == nil || key.Tenant != old.Tenant {
		return nil, CheckReplace(Summary{Tenant: old.Tenant}, key)
	}
	w, err := s.newKeyWrite(key, fileName)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	r := &swap{w: w, old: old}
	err = s.run(ctx, lockWrite, r.run, nil)
	switch {
	case err == nil:
		return &Stored{Key: key, UploadedAt: w.man.UploadedAt, FileName: w.man.FileName}, nil
	case errors.Is(err, ErrTimeout) && r.switching.Load():
		return nil, &Error{kind: ErrTimeout, facts: ErrorFacts{Tenant: old.Tenant, Wait: s.timeout, Left: LeftEitherKey}, msg: fmt.Sprintf("the keychain did not answer within %s while calmkey replaced the key of tenant %s; either key may be stored now, whole: run calmkeyctl list to see which", s.timeout, Printable(old.Tenant))}
	case errors.Is(err, ErrTimeout):
		return nil, &Error{kind: ErrTimeout, facts: ErrorFacts{Tenant: old.Tenant, Wait: s.timeout, Left: LeftNotReplaced}, msg: fmt.Sprintf("the keychain did not answer within %s; the key of tenant %s was not replaced; if the keychain asks to be unlocked, unlock it and try again", s.timeout, Printable(old.Tenant))}
	}
	return nil, err
}

// swap is one Replace's work under the lock.
type swap struct {
	w         *keyWrite
	old       Identity
	switching atomic.Bool // the manifest write has started
}

func (r *swap) run(ctx context.Context, b Backend) error {
	s, w := r.w.s, r.w
	ix, m, err := r.check(ctx, b)
	if err != nil {
		return err
	}
	if err := s.updateIndex(b, ix, indexEdit{tidy: w.tenant}); err != nil {
		return err
	}
	to := otherSet(m.Parts)
	if err := r.switchTo(ctx, b, to); err != nil {
		// The old key is stored; what was written of the new goes, and
		// the tenant leaves the tidy list. Both best effort: the list
		// stays when they fail, and the next command tidies.
		if s.sweepParts(b, w.it.inSet(to), 0) == nil {
			_ = s.updateIndex(b, ix, indexEdit{tidied: []string{w.tenant}})
		}
		return err
	}
	// Switched: the new key is stored. The rest tidies, best effort (the
	// tidy list stays when it fails) and whatever ctx says, so that what
	// is left for the next command is as little as can be.
	from := w.it.inSet(m.Parts)
	for i := m.Chunks; i >= 1; i-- {
		if err := b.Delete(s.service, from.part(i)); err != nil && !isNotFound(err) {
			return nil
		}
	}
	if s.sweepParts(b, from, m.Chunks) != nil || s.sweepParts(b, w.it.inSet(to), len(w.chunks)) != nil {
		return nil
	}
	_ = s.updateIndex(b, ix, indexEdit{tenant: w.tenant, add: true, tidied: []string{w.tenant}})
	return nil
}

// check reads the index (tidying what earlier replaces left) and the
// tenant's manifest, and returns them when the stored key is still old and
// not the new key already.
func (r *swap) check(ctx context.Context, b Backend) (*index, manifest, error) {
	s, w := r.w.s, r.w
	ix, err := s.layout(ctx, b, true)
	if err != nil {
		return nil, manifest{}, err
	}
	mtext, err := b.Get(s.service, w.it.manifest)
	switch {
	case isNotFound(err):
		return nil, manifest{}, notStored(w.tenant)
	case err != nil:
		return nil, manifest{}, s.backendErr(err)
	}
	m, err := decodeManifest(mtext, LayoutVersion)
	switch {
	case err != nil:
		return nil, manifest{}, corrupt(w.tenant, err.Error())
	case m.TenantSHA256 != tenantHash(w.tenant):
		return nil, manifest{}, notStored(w.tenant)
	case m.SHA256 == w.man.SHA256:
		return nil, manifest{}, identical(w.tenant)
	case !m.summary(w.tenant).Identity().Same(r.old):
		return nil, manifest{}, &Error{kind: ErrChanged, facts: ErrorFacts{Tenant: w.tenant, Left: LeftNothingChanged}, msg: "the service key of tenant " + Printable(w.tenant) + " was replaced meanwhile; nothing was changed: look at the key now stored and try again"}
	}
	return ix, m, ctx.Err()
}

// switchTo writes the new key's parts in set to and then the manifest that
// names them. An error means the manifest still names the old key.
func (r *swap) switchTo(ctx context.Context, b Backend, to string) error {
	s, w := r.w.s, r.w
	in := w.it.inSet(to)
	if err := parallel(ctx, len(w.chunks), func(i int) error {
		return b.Set(s.service, in.part(i+1), w.chunks[i])
	}); err != nil {
		return s.stopped(ctx, err)
	}
	man := w.man
	man.Parts = to
	mtext, err := man.encode()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.switching.Store(true)
	if err := b.Set(s.service, w.it.manifest, mtext); err != nil {
		// A failed write may still have stored the item on some
		// keychains: what is there now decides.
		if now, gerr := b.Get(s.service, w.it.manifest); gerr == nil && now == mtext {
			return nil
		}
		return s.backendErr(err)
	}
	return nil
}

// untidy reports that items of layout 1, or of a replace cut short, may be
// left (see indexDoc.Legacy and indexDoc.Tidy).
func (ix *index) untidy() bool { return ix.doc.Legacy == legacySweep || len(ix.doc.Tidy) > 0 }

// tidy removes, for each tenant on the index's tidy list, the parts of the
// set its manifest does not name (of both when it has no manifest), and
// takes the tenants it could tidy off the list. Best effort: every key is
// whole whatever is left.
func (s *Store) tidy(b Backend, ix *index) {
	var done []string
	for _, tenant := range ix.doc.Tidy {
		it := itemsOf(tenant)
		mtext, err := b.Get(s.service, it.manifest)
		var sets []string
		switch {
		case isNotFound(err):
			sets = []string{partSetA, partSetB}
		case err != nil:
			continue
		default:
			m, derr := decodeManifest(mtext, LayoutVersion)
			if derr == nil && m.TenantSHA256 == tenantHash(tenant) {
				sets = []string{otherSet(m.Parts)}
			}
			// A damaged manifest names no set to keep: its Delete sweeps
			// both.
		}
		ok := true
		for _, set := range sets {
			ok = ok && s.sweepParts(b, it.inSet(set), 0) == nil
		}
		if ok {
			done = append(done, tenant)
		}
	}
	if len(done) > 0 {
		_ = s.updateIndex(b, ix, indexEdit{tidied: done})
	}
}
