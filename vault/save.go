package vault

import (
	"context"
	"errors"
	"time"
)

// keyWrite is one Save: the key's items as they are to be written.
type keyWrite struct {
	s      *Store
	tenant string
	it     items
	chunks []string
	man    manifest
	mtext  string // man, encoded
}

func (s *Store) newKeyWrite(key *Key, fileName string) (*keyWrite, error) {
	sec := key.secrets()
	if sec == nil || len(sec.raw) == 0 {
		return nil, errors.New("there is no service key to save; upload a key file first")
	}
	if key.Tenant == "" {
		return nil, errors.New("the service key names no tenant (uaa.identityzone); download it again from the SAP BTP cockpit")
	}
	chunks := split(encodePercent(sec.raw), ChunkSize)
	man := newManifest(key, sec.raw, len(chunks), s.now().UTC().Truncate(time.Second), fileName)
	mtext, err := man.encode()
	if err != nil {
		return nil, err
	}
	return &keyWrite{s: s, tenant: key.Tenant, it: itemsOf(key.Tenant), chunks: chunks, man: man, mtext: mtext}, nil
}

// save is Save's work under the exclusive lock: the parts, the manifest,
// the index; then it sweeps parts beyond the new key's, which a save cut
// short by a crash may have left (no manifest named them, so nothing else
// would ever remove them).
func (w *keyWrite) save(ctx context.Context, b Backend) error {
	ix, err := w.claim(ctx, b)
	if err != nil {
		return err
	}
	if err := w.write(ctx, b); err != nil {
		return err
	}
	// Listed already (a save cut short, see claim): a new generation all
	// the same, so that Stamp changes.
	if err := w.s.updateIndex(b, ix, indexEdit{tenant: w.tenant, add: true}); err != nil {
		w.undo(b, true)
		return err
	}
	// Best effort: the key is stored, and leftovers are invisible.
	_ = w.s.sweepParts(b, w.it, len(w.chunks))
	return nil
}

// claim reads the index and the tenant's manifest (moving a key of the old
// layout first) and returns the index: ErrAlreadyStored when the tenant has
// a key; what a save or delete cut short left is cleared.
func (w *keyWrite) claim(ctx context.Context, b Backend) (*index, error) {
	s := w.s
	var ix *index
	var ixErr error
	got := make(chan struct{})
	go func() {
		defer close(got)
		ix, ixErr = s.readIndex(b)
	}()
	old, err := b.Get(s.service, w.it.manifest)
	<-got
	if ixErr != nil {
		return nil, ixErr
	}
	if !ix.exists || ix.untidy() {
		// A key of the old layout may have to be moved first, which may
		// write this very manifest: read it again after.
		if ix, ixErr = s.layout(ctx, b, true); ixErr != nil {
			return nil, ixErr
		}
		old, err = b.Get(s.service, w.it.manifest)
	}
	switch {
	case err == nil:
		err = s.claimed(ctx, b, ix, w.tenant, w.it, old)
	case !isNotFound(err):
		err = s.backendErr(err)
	case ix.has(w.tenant):
		// Listed without a manifest: a delete cut short. Its parts may be
		// left; they go before the new ones come.
		err = s.sweepParts(b, w.it, 0)
	default:
		err = nil
	}
	if err == nil {
		err = ctx.Err()
	}
	return ix, err
}

// write writes the parts, then the manifest that makes them a key; what it
// wrote is undone when it fails or ctx ends.
func (w *keyWrite) write(ctx context.Context, b Backend) error {
	s := w.s
	// Parts go in parallel: a keychain call is mostly waiting for the
	// daemon, and the manifest that makes them visible comes after all.
	if err := parallel(ctx, len(w.chunks), func(i int) error {
		return b.Set(s.service, w.it.part(i+1), w.chunks[i])
	}); err != nil {
		w.undo(b, false)
		return s.stopped(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		w.undo(b, false)
		return err
	}
	if err := b.Set(s.service, w.it.manifest, w.mtext); err != nil {
		// A failed Set may still have stored the item on some keychains.
		w.undo(b, true)
		return s.backendErr(err)
	}
	if err := ctx.Err(); err != nil {
		w.undo(b, true)
		return err
	}
	return nil
}

// undo removes what a failed save wrote; best effort: the keychain just
// failed, so these may fail too. The manifest goes first so nothing
// half-deleted is ever visible.
func (w *keyWrite) undo(b Backend, manifestToo bool) {
	if manifestToo {
		_ = b.Delete(w.s.service, w.it.manifest)
	}
	for i := len(w.chunks); i >= 1; i-- {
		_ = b.Delete(w.s.service, w.it.part(i))
	}
}
