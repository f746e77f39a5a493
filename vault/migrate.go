package vault

import (
	"context"
	"strings"
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
				_ = s.writeIndex(b, ix, ix.doc.Tenants, "")
			}
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
	if err := s.writeIndex(b, ix, []string{key.Tenant}, legacySweep); err != nil {
		return nil, err
	}
	// The key is moved. What follows tidies up; if it fails, the next
	// writer does it (the index says so).
	if _, err := s.sweepLegacy(b); err == nil {
		_ = s.writeIndex(b, ix, ix.doc.Tenants, "")
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

// readIndex reads the index item and, for a long list, its parts. An index
// that does not exist is an empty one; a damaged one is ErrCorrupt.
func (s *Store) readIndex(b Backend) (*index, error) {
	head, err := b.Get(s.service, IndexItem)
	switch {
	case isNotFound(err):
		return &index{}, nil
	case err != nil:
		return nil, s.backendErr(err)
	}
	d, err := decodeIndexHead(head)
	if err != nil {
		return nil, damagedIndex(err.Error())
	}
	if d.Parts > 0 {
		parts := make([]string, d.Parts)
		if err := parallel(context.Background(), d.Parts, func(i int) error {
			var err error
			parts[i], err = b.Get(s.service, indexPartItem(d.Gen, i+1))
			return err
		}); err != nil {
			if isNotFound(err) {
				return nil, damagedIndex("a part of it is missing")
			}
			return nil, s.backendErr(err)
		}
		list, err := decodeIndexParts(d, strings.Join(parts, ""))
		if err != nil {
			return nil, damagedIndex(err.Error())
		}
		d.Tenants = list
	}
	return &index{doc: d, exists: true}, nil
}

func damagedIndex(why string) error {
	return &Error{kind: ErrCorrupt, msg: why + "; the keys stay in the keychain, but calmkey cannot list them: delete the index (calmkeyctl delete --yes) and load or upload each tenant's key again"}
}

// writeIndex replaces the index with one listing tenants (a new
// generation); the parts of a long list go first, the item last, and the
// old generation's parts after it. On success ix is the new index.
func (s *Store) writeIndex(b Backend, ix *index, tenants []string, legacy string) error {
	gen := ix.doc.Gen + 1
	head, parts, err := encodeIndex(gen, tenants, legacy)
	if err != nil {
		return err
	}
	undo := func() {
		for i := len(parts); i >= 1; i-- {
			_ = b.Delete(s.service, indexPartItem(gen, i))
		}
	}
	if err := parallel(context.Background(), len(parts), func(i int) error {
		return b.Set(s.service, indexPartItem(gen, i+1), parts[i])
	}); err != nil {
		undo()
		return s.backendErr(err)
	}
	if err := b.Set(s.service, IndexItem, head); err != nil {
		undo()
		return s.backendErr(err)
	}
	for i := ix.doc.Parts; i >= 1; i-- {
		_ = b.Delete(s.service, indexPartItem(ix.doc.Gen, i))
	}
	d, err := decodeIndexHead(head)
	if err != nil {
		return err // encodeIndex wrote it: cannot happen
	}
	d.Tenants = tenants
	*ix = index{doc: d, exists: true}
	return nil
}
