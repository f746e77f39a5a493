package vault

import (
	"context"
)

// layout reads the index. When there is none and a key of the old layout
// is stored, a writer (write, under the exclusive lock) moves that key and
// returns the new index; a reader gets errMigrate. A writer also finishes
// a move that stopped before it had deleted the old items. Without an
// index or an old key it returns an empty index that does not exist yet.
func (s *Store) layout(ctx context.Context, b Backend, write bool) (*index, error) {
	ix, err := s.readIndex(b)
	if err != nil {
		return nil, err
	}
	if ix.exists {
		if write && ix.doc.Legacy == legacySweep {
			// Best effort: the keys of the new layout are whole already.
			if _, err := s.sweepLegacy(b); err == nil {
				_ = s.updateIndex(b, ix, indexEdit{clearLegacy: true})
			}
		}
		if write && len(ix.doc.Tidy) > 0 {
			s.tidy(b, ix) // best effort too: every key is whole
		}
		return ix, nil
	}
	mtext, err := b.Get(s.service, LegacyKeyItem)
	switch {
	case isNotFound(err):
		return ix, nil
	case err != nil:
		return nil, s.backendErr(err)
	case !write:
		return nil, errMigrate
	}
	return s.migrate(ctx, b, mtext)
}

// migrate moves the key of the old layout, whose manifest is mtext, to the
// current one: it reads and checks it, writes it as its tenant's key (upload
// time and file name kept), writes the index that lists it, marked as
// still holding old items, deletes the old items and clears the mark. Cut
// short anywhere, it leaves the old key whole (before the index is written)
// or the new one listed. A damaged old key is left as it is: ErrCorrupt.
func (s *Store) migrate(ctx context.Context, b Backend, mtext string) (*index, error) {
	st, err := s.readKey(ctx, b, "", legacyItems, mtext, legacyVersion, nil)
	if err != nil {
		return nil, err
	}
	key := st.Key
	it := itemsOf(key.Tenant)
	data := key.Bytes()
	chunks := split(encodePercent(data), ChunkSize)
	mnew, err := newManifest(key, data, len(chunks), st.UploadedAt, st.FileName).encode()
	if err != nil {
		return nil, err
	}
	if err := parallel(ctx, len(chunks), func(i int) error {
		return b.Set(s.service, it.part(i+1), chunks[i])
	}); err != nil {
		return nil, s.stopped(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.Set(s.service, it.manifest, mnew); err != nil {
		return nil, s.backendErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix := &index{}
	if err := s.updateIndex(b, ix, indexEdit{tenant: key.Tenant, add: true, sweep: true}); err != nil {
		return nil, err
	}
	// The key is moved. What follows tidies up; if it fails, the next
	// writer does it (the index says so).
	if _, err := s.sweepLegacy(b); err == nil {
		_ = s.updateIndex(b, ix, indexEdit{clearLegacy: true})
	}
	return ix, nil
}

// finishMove deletes the items of the old layout that a move cut short
// left (the index says so), for a read that found them; best effort, under
// the exclusive lock, within ctx.
func (s *Store) finishMove(ctx context.Context) {
	_ = s.run(ctx, lockWrite, func(ctx context.Context, b Backend) error {
		_, err := s.layout(ctx, b, true)
		return err
	}, nil)
}

// stopped is the error of a write that failed or was cut short by ctx.
func (s *Store) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.backendErr(err)
}

// sweepLegacy deletes the items of the old layout: the manifest first,
// then the parts it names (and any beyond). found reports a manifest.
func (s *Store) sweepLegacy(b Backend) (found bool, err error) {
	chunks := 0
	mtext, err := b.Get(s.service, LegacyKeyItem)
	switch {
	case err == nil:
		found = true
		if m, err := decodeManifest(mtext, legacyVersion); err == nil {
			chunks = m.Chunks
		}
		if err := b.Delete(s.service, LegacyKeyItem); err != nil && !isNotFound(err) {
			return found, s.backendErr(err)
		}
	case !isNotFound(err):
		return false, s.backendErr(err)
	}
	for i := chunks; i >= 1; i-- {
		if err := b.Delete(s.service, legacyItems.part(i)); err != nil && !isNotFound(err) {
			return found, s.backendErr(err)
		}
	}
	return found, s.sweepParts(b, legacyItems, chunks)
}
