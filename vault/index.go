package vault

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"
)

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
	return &index{doc: d, exists: true, head: head}, nil
}

func damagedIndex(why string) error {
	return &Error{kind: ErrCorrupt, msg: why + "; the keys stay in the keychain, but calmkey cannot list them: delete the index (calmkeyctl delete --yes) and load or upload each tenant's key again"}
}

// indexEdit is one change of the index: tenant added or removed (none when
// tenant is ""), the mark of a move from layout 1 set or cleared, a tenant
// put on or taken off the tidy list. Every edit writes a new generation,
// so that Stamp changes.
type indexEdit struct {
	tenant      string
	add         bool
	sweep       bool   // set the mark (see indexDoc.Legacy)
	clearLegacy bool   // clear it
	tidy        string // a tenant to put on the tidy list (see indexDoc.Tidy)
	tidied      []string
}

// apply gives d with the edit made. A tenant removed leaves the tidy list
// too: a delete runs after the tidy (see Store.layout), and the tidy list
// names part sets by the manifest, which is gone.
func (e indexEdit) apply(d indexDoc) indexDoc {
	if e.tenant != "" {
		d.Tenants = (&index{doc: d}).with(e.tenant, e.add)
		if !e.add {
			d.Tidy = without(d.Tidy, e.tenant)
		}
	}
	switch {
	case e.sweep:
		d.Legacy = legacySweep
	case e.clearLegacy:
		d.Legacy = ""
	}
	if e.tidy != "" {
		d.Tidy = (&index{doc: indexDoc{Tenants: d.Tidy}}).with(e.tidy, true)
	}
	d.Tidy = without(d.Tidy, e.tidied...)
	return d
}

// without is list less names, nil when empty.
func without(list []string, names ...string) []string {
	out := slices.DeleteFunc(slices.Clone(list), func(t string) bool { return slices.Contains(names, t) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// in reports whether d has the edit made already.
func (e indexEdit) in(d indexDoc) bool {
	n := e.apply(d)
	return slices.Equal(n.Tenants, d.Tenants) && n.Legacy == d.Legacy && slices.Equal(n.Tidy, d.Tidy)
}

// indexTries bounds how often updateIndex starts again on an index that
// another writer changed meanwhile.
const indexTries = 16

// errIndexRace: the index kept changing under updateIndex.
var errIndexRace = &Error{kind: ErrBusy, msg: "the index of stored tenants kept changing while calmkey wrote it (another calmkey is changing the keys); try again"}

// updateIndex makes edit on the index ix that the caller read, as a new
// generation. The keychain lock keeps other calmkeys out, but a keychain
// has no compare-and-swap, and two processes that lock different files (a
// user who logs on while a cron job runs, an older calmkey) must still not
// lose each other's tenants: so the index is read again just before the
// write, and the edit made on what is there when it changed since ix was
// read; after the write it is read once more, and when another writer's
// index replaced this one without the edit, the edit is made again. An
// index that lists no tenant is deleted rather than written. On success ix
// is the index as written.
func (s *Store) updateIndex(b Backend, ix *index, edit indexEdit) error {
	for range indexTries {
		cur, err := s.sameIndex(b, ix)
		if err != nil {
			return err
		}
		next, err := s.putIndex(b, cur, edit.apply(cur.doc))
		if err != nil {
			return err
		}
		after, err := s.sameIndex(b, next)
		if err != nil {
			return err
		}
		if after == next || edit.in(after.doc) {
			*ix = *after
			return nil
		}
		*ix = *after
	}
	return errIndexRace
}

// sameIndex is ix when the index item is still the one ix was read from,
// or else the index as it is now.
func (s *Store) sameIndex(b Backend, ix *index) (*index, error) {
	head, err := b.Get(s.service, IndexItem)
	switch {
	case isNotFound(err) && !ix.exists:
		return ix, nil
	case err == nil && ix.exists && head == ix.head:
		return ix, nil
	case err != nil && !isNotFound(err):
		return nil, s.backendErr(err)
	}
	return s.readIndex(b)
}

// putIndex replaces the index ix with d's tenants, mark and tidy list, one
// generation on (a random one for a new index, so that an index deleted and
// made again never repeats a Stamp); the parts of a long list go first, the
// item last, and the old generation's parts after it. No tenants, no mark
// and nothing to tidy: the index item is deleted.
func (s *Store) putIndex(b Backend, ix *index, d indexDoc) (*index, error) {
	tenants := d.Tenants
	if len(tenants) == 0 && d.Legacy == "" && len(d.Tidy) == 0 {
		if err := b.Delete(s.service, IndexItem); err != nil && !isNotFound(err) {
			return nil, s.backendErr(err)
		}
		s.dropIndexParts(b, ix)
		return &index{}, nil
	}
	gen := ix.doc.Gen + 1
	if !ix.exists {
		gen = newGen()
	}
	head, parts, err := encodeIndexDoc(indexDoc{Gen: gen, Tenants: tenants, Legacy: d.Legacy, Tidy: d.Tidy})
	if err != nil {
		return nil, err
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
		return nil, s.backendErr(err)
	}
	if err := b.Set(s.service, IndexItem, head); err != nil {
		undo()
		return nil, s.backendErr(err)
	}
	s.dropIndexParts(b, ix)
	nd, err := decodeIndexHead(head)
	if err != nil {
		return nil, err // encodeIndex wrote it: cannot happen
	}
	nd.Tenants = tenants
	return &index{doc: nd, exists: true, head: head}, nil
}

// dropIndexParts deletes the parts of index ix, which was replaced; best
// effort, since nothing reads a generation that is gone.
func (s *Store) dropIndexParts(b Backend, ix *index) {
	for i := ix.doc.Parts; i >= 1; i-- {
		_ = b.Delete(s.service, indexPartItem(ix.doc.Gen, i))
	}
}

// newGen is the generation of a new index: random, below 2^52 (exact in
// any JSON reader), so that an index deleted and made again does not
// repeat the text, and the Stamp, of one before.
func newGen() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 1
	}
	return int64(binary.BigEndian.Uint64(b[:])>>12) + 1
}
