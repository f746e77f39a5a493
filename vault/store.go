package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Store keeps one key per tenant in the keychain, each in parts plus a
// manifest, and an index of the tenants (see the package documentation).
// It is safe for concurrent use; its operations run one at a time, and
// across processes Save and Delete run one at a time too, under the
// keychain lock (see LockFile). Each operation runs under the Store's
// deadline; a keychain call that hangs past it is abandoned, not cancelled
// (no keychain API can cancel it), so its goroutine lives on until the
// keychain answers, and later operations on the same Store wait for it (and
// time out while it hangs). A write that outlives the deadline is waited
// for up to WriteGrace more, so that the caller hears the truth (see Save).
//
// A key stored by a calmkey release before layout version 2 (LegacyKeyItem)
// is moved to the current layout by the first operation that finds it,
// under the keychain lock: it is read and checked, written as its tenant's
// key, listed in the index, and only then are its old items deleted, so a
// move cut short at any point leaves the key readable in one layout or the
// other. An old key that is damaged is not moved or deleted: every
// operation reports it (ErrCorrupt) until Delete(ctx, "") removes it.
type Store struct {
	backend Backend
	service string
	timeout time.Duration
	lockDir string
	now     func() time.Time
	grace   time.Duration // WriteGrace; tests shorten it
	noLock  bool          // benchmarks measure what the lock costs
	// abandoned, when set (by tests), runs when run stops waiting for an
	// op at its deadline: a test's fake keychain can hold an op until
	// then, whatever the machine's speed.
	abandoned func()
	// busy is held while backend calls are in flight, including calls that
	// outlived their caller's deadline, so a late write can never interleave
	// with the next operation.
	busy chan struct{}
}

// Open returns a Store; it does not touch the keychain.
func Open(opts Options) *Store {
	s := &Store{backend: opts.Backend, service: opts.Service, timeout: opts.Timeout, lockDir: opts.LockDir,
		now: time.Now, grace: WriteGrace, busy: make(chan struct{}, 1)}
	if s.backend == nil {
		s.backend = KeyringBackend{}
	}
	if s.service == "" {
		s.service = DefaultService
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s
}

// errMigrate: a read found a key of the old layout and no index; the key
// must be moved, which needs the keychain lock held exclusively.
var errMigrate = errors.New("the stored key must be moved to the current layout first")

// deadline bounds a whole Store call, whatever runs it takes (a read that
// must first move an old key, a load that repairs the index).
func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// read runs a reading op under the shared lock; when op finds a key of the
// old layout, the key is moved under the exclusive lock and op runs again.
func (s *Store) read(ctx context.Context, mode lockMode, op func(context.Context, Backend) error) error {
	err := s.run(ctx, mode, op, nil)
	if !errors.Is(err, errMigrate) {
		return err
	}
	err = s.run(ctx, lockWrite, func(ctx context.Context, b Backend) error {
		_, err := s.layout(ctx, b, true)
		return err
	}, nil)
	if err != nil {
		return err
	}
	return s.run(ctx, mode, op, nil)
}

// Save stores key under its tenant (Key.Tenant). When that tenant has a key
// already, it returns an error matching ErrAlreadyStored whose text is
// "tenant X already has a service key: delete it first" (checked under the
// keychain lock, so of several processes saving keys of one tenant at once
// exactly one succeeds). A save that fails leaves nothing behind. ErrBusy
// when another process held the lock past the deadline. A save that runs
// past the deadline is waited for (up to WriteGrace more) and undone before
// Save returns ErrTimeout, so "timeout" means nothing was stored; if the
// keychain has still not answered then, the ErrTimeout says the keychain
// may hold a partial key (Delete removes it). fileName may be a path; only
// its base name is kept.
//
// The parts go first, then the manifest, then the index that lists the
// tenant: a save cut short before the index is written leaves a key that no
// List shows; the next Save or Load of that tenant finds it and lists it
// when it is whole, or removes it.
func (s *Store) Save(ctx context.Context, key *Key, fileName string) error {
	w, err := s.newKeyWrite(key, fileName)
	if err != nil {
		return err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.run(ctx, lockWrite, w.save, func(b Backend) {
		// The save ended after the deadline: take it back, manifest first.
		_, _ = s.remove(context.Background(), b, w.tenant, w.it)
	})
}

// claimed handles a Save that finds tenant's manifest in place: a key that
// is listed, or whole, is stored (ErrAlreadyStored; a whole one the index
// lacked, left by a save cut short, is listed now); a damaged one that is
// not listed is what a save cut short left, and is removed.
func (s *Store) claimed(ctx context.Context, b Backend, ix *index, tenant string, it items, mtext string) error {
	if m, err := decodeManifest(mtext, LayoutVersion); err == nil && m.TenantSHA256 != tenantHash(tenant) {
		return fmt.Errorf("the keychain items for tenant %s are taken by another tenant's key (their names meet by chance); please report this as a calmkey bug", Printable(tenant))
	}
	if ix.has(tenant) {
		return alreadyStored(tenant)
	}
	_, err := s.readKey(ctx, b, tenant, it, mtext, LayoutVersion, nil)
	switch {
	case err == nil:
		if err := s.updateIndex(b, ix, indexEdit{tenant: tenant, add: true}); err != nil {
			return err
		}
		return alreadyStored(tenant)
	case errors.Is(err, ErrCorrupt):
		if _, err := s.remove(ctx, b, tenant, it); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	default:
		return err
	}
}

func alreadyStored(tenant string) error {
	return &Error{kind: ErrAlreadyStored, facts: ErrorFacts{Tenant: tenant}, msg: fmt.Sprintf("tenant %s already has a service key: delete it first", Printable(tenant))}
}

func notStored(tenant string) error {
	return &Error{kind: ErrNotFound, facts: ErrorFacts{Tenant: tenant}, msg: fmt.Sprintf("no service key is stored for tenant %s", Printable(tenant))}
}

// Load returns tenant's stored key: errors matching ErrNotFound, ErrCorrupt,
// ErrTimeout, ErrUnavailable or ErrBusy (test with errors.Is). It reads the
// key's manifest and parts and the index, at once.
func (s *Store) Load(ctx context.Context, tenant string) (*Stored, error) {
	if tenant == "" {
		return nil, notStored(`""`)
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var l load
	err := s.read(ctx, lockShared, func(ctx context.Context, b Backend) (err error) {
		l, err = s.loadKey(ctx, b, tenant)
		return err
	})
	if err != nil {
		return nil, err
	}
	if l.moved {
		s.finishMove(ctx)
	}
	if l.unlisted {
		// A save cut short after the manifest: the key is whole, so it is
		// listed now. Best effort; the key is loaded either way.
		_ = s.run(ctx, lockWrite, func(ctx context.Context, b Backend) error {
			ix, err := s.layout(ctx, b, true)
			if err != nil || ix.has(tenant) {
				return err
			}
			mtext, err := b.Get(s.service, itemsOf(tenant).manifest)
			if err != nil {
				return err
			}
			return s.claimed(ctx, b, ix, tenant, itemsOf(tenant), mtext)
		}, nil)
	}
	return l.st, nil
}

// load is what loadKey found: the key, and what is left to tidy.
type load struct {
	st       *Stored
	unlisted bool // whole, but not in the index (a save cut short)
	moved    bool // the index says items of layout 1, or of a replace, may be left
}

// loadKey is Load's read under the shared lock. Every key has a part 1,
// and the index tells a key cut short from one whose index entry is
// missing: both are fetched beside the manifest.
func (s *Store) loadKey(ctx context.Context, b Backend, tenant string) (load, error) {
	it := itemsOf(tenant)
	var first fetched
	var ix *index
	var ixErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); first.text, first.err = b.Get(s.service, it.part(1)) }()
	go func() { defer wg.Done(); ix, ixErr = s.readIndex(b) }()
	mtext, mErr := b.Get(s.service, it.manifest)
	wg.Wait()
	if ixErr != nil && !errors.Is(ixErr, ErrCorrupt) {
		return load{}, ixErr
	}
	if ixErr == nil && !ix.exists {
		// No index: nothing stored yet, or a key of the old layout.
		if _, err := b.Get(s.service, LegacyKeyItem); err == nil {
			return load{}, errMigrate
		} else if !isNotFound(err) {
			return load{}, s.backendErr(err)
		}
	}
	switch {
	case isNotFound(mErr):
		return load{}, notStored(tenant)
	case mErr != nil:
		return load{}, s.backendErr(mErr)
	}
	st, err := s.readKey(ctx, b, tenant, it, mtext, LayoutVersion, &first)
	if err != nil {
		return load{}, err
	}
	return load{st: st, unlisted: ixErr == nil && !ix.has(tenant), moved: ixErr == nil && ix.untidy()}, nil
}

// fetched is an item read ahead.
type fetched struct {
	text string
	err  error
}

// readKey reads and checks the key whose manifest text is mtext: its parts
// (part 1 may have been read already), the checksum, the format check, and
// for layout 2 the tenant. Damage is ErrCorrupt, with what is wrong.
func (s *Store) readKey(ctx context.Context, b Backend, tenant string, it items, mtext string, version int, first *fetched) (*Stored, error) {
	bad := func(why string) error { return corrupt(tenant, why) }
	m, err := decodeManifest(mtext, version)
	if err != nil {
		return nil, bad(err.Error())
	}
	if version >= LayoutVersion && m.TenantSHA256 != tenantHash(tenant) {
		return nil, notStored(tenant) // another tenant's key, whose item names meet these
	}
	if m.Parts != partSetA {
		first = nil // read ahead from set A
	}
	it = it.inSet(m.Parts)
	partErr := func(i int, err error) error {
		if isNotFound(err) {
			return bad(fmt.Sprintf("part %d of %d is missing", i, m.Chunks))
		}
		return s.backendErr(err)
	}
	parts := make([]string, m.Chunks)
	errs := make([]error, m.Chunks)
	from := 0
	if first != nil {
		if first.err != nil {
			return nil, partErr(1, first.err)
		}
		parts[0], from = first.text, 1
	}
	if err := parallel(ctx, m.Chunks-from, func(i int) error {
		c, err := b.Get(s.service, it.part(from+i+1))
		parts[from+i], errs[from+i] = c, err
		return err
	}); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for i, err := range errs {
			if err != nil {
				return nil, partErr(i+1, err)
			}
		}
	}
	data, err := decodePercent(strings.Join(parts, ""))
	if err != nil {
		return nil, bad("a part holds text that is not ours")
	}
	sum := sha256.Sum256(data)
	if len(data) != m.Size || hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, bad("its checksum does not match")
	}
	key, err := parse(data, s.now(), true)
	if err != nil {
		return nil, bad("it no longer passes the format check")
	}
	if version >= LayoutVersion && key.Tenant != tenant {
		return nil, bad("it holds the key of another tenant")
	}
	return &Stored{Key: key, UploadedAt: m.UploadedAt, FileName: m.FileName}, nil
}

// List returns every stored key's summary, sorted by tenant name. It reads
// the index and each tenant's manifest, which carries the summary: one
// keychain read for the index (more only when hundreds of tenants make it
// longer than one item) and one per tenant. A tenant whose manifest is
// damaged is listed with Err set. An empty list and no error when nothing
// is stored.
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []Summary
	moved := false
	err := s.read(ctx, lockShared, func(ctx context.Context, b Backend) error {
		ix, err := s.layout(ctx, b, false)
		if err != nil {
			return err
		}
		moved = ix.untidy()
		list := make([]Summary, len(ix.doc.Tenants))
		there := make([]bool, len(list))
		if err := parallel(ctx, len(list), func(i int) error {
			tenant := ix.doc.Tenants[i]
			var err error
			list[i], there[i], err = s.summary(ctx, b, tenant)
			return err
		}); err != nil {
			return err
		}
		out = out[:0]
		for i, sum := range list {
			// Listed without a manifest: a delete cut short; not stored.
			if there[i] {
				out = append(out, sum)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if moved {
		s.finishMove(ctx)
	}
	return out, nil
}

// summary reads tenant's manifest for List: there is false when it is
// missing; a damaged key is a Summary with Err. A manifest without a
// summary (see manifest.Summary) costs reading the key.
func (s *Store) summary(ctx context.Context, b Backend, tenant string) (sum Summary, there bool, err error) {
	it := itemsOf(tenant)
	mtext, err := b.Get(s.service, it.manifest)
	switch {
	case isNotFound(err):
		return Summary{}, false, nil
	case err != nil:
		return Summary{}, false, s.backendErr(err)
	}
	m, err := decodeManifest(mtext, LayoutVersion)
	switch {
	case err != nil:
		return Summary{Tenant: tenant, Err: corrupt(tenant, err.Error())}, true, nil
	case m.TenantSHA256 != tenantHash(tenant):
		return Summary{}, false, nil
	case m.Summary != nil:
		return m.summary(tenant), true, nil
	}
	st, err := s.readKey(ctx, b, tenant, it, mtext, LayoutVersion, nil)
	switch {
	case errors.Is(err, ErrCorrupt):
		return Summary{Tenant: tenant, Err: err}, true, nil
	case err != nil:
		return Summary{}, false, err
	}
	return st.Summary(), true, nil
}

// Stamp names the stored keys' version cheaply: one keychain read (the
// index), no lock; two when no index exists. It is "" when no key is
// stored, and otherwise changes with every Save and Delete (the index
// counts its writes). A window that must stay true polls it and calls List
// or Load only when it changes. A key of the old layout has a stamp of its
// own, and a damaged index has one too; List reports the damage.
func (s *Store) Stamp(ctx context.Context) (string, error) {
	var stamp string
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.run(ctx, lockNone, func(ctx context.Context, b Backend) error {
		text, err := b.Get(s.service, IndexItem)
		if isNotFound(err) {
			text, err = b.Get(s.service, LegacyKeyItem)
			text = "legacy:" + text
		} else if err == nil {
			if d, derr := decodeIndexHead(text); derr == nil && len(d.Tenants) == 0 && d.Parts == 0 {
				return nil // an index of no tenants: nothing is stored
			}
		}
		switch {
		case isNotFound(err):
			return nil
		case err != nil:
			return s.backendErr(err)
		}
		sum := sha256.Sum256([]byte(text))
		stamp = hex.EncodeToString(sum[:16])
		return nil
	}, nil)
	return stamp, err
}

// Delete removes tenant's key: its manifest first (so it is stored no
// more), then its entry in the index, then its parts and any left by a
// save or delete cut short. An error matching ErrNotFound when the tenant
// has no key (leftovers are swept then too). It runs under the keychain
// lock. Once it has removed the manifest it finishes, even past the
// deadline (waited for up to WriteGrace), since a key cannot be put back;
// ErrTimeout then means nothing was deleted, or, when it says so, that
// parts may be left (invisible, and removed by the next Delete).
//
// Delete(ctx, "") removes what belongs to no tenant that can be named: a
// damaged key of the old layout (which List and Load report as
// ErrCorrupt) or a damaged index (replaced by an empty one; the keys it
// listed stay, and are listed again when they are loaded or uploaded
// again by name). ErrNotFound when there is neither.
func (s *Store) Delete(ctx context.Context, tenant string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.run(ctx, lockWrite, func(ctx context.Context, b Backend) error {
		if tenant == "" {
			return s.deleteUnnamed(ctx, b)
		}
		ix, err := s.layout(ctx, b, true)
		if err != nil {
			return err
		}
		return s.removeTenant(ctx, b, ix, tenant)
	}, nil)
}

// removeTenant is the delete of a tenant's key once the caller, under the
// lock, has read the index ix and found nothing against it.
func (s *Store) removeTenant(ctx context.Context, b Backend, ix *index, tenant string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	found, err := s.removeFrom(b, ix, tenant, itemsOf(tenant))
	if err != nil {
		return err
	}
	if !found {
		return notStored(tenant)
	}
	return nil
}

// DeleteIf deletes tenant's key only if it is still want (see
// Identity.Same): the same client id, bytes and upload time. It checks under
// the keychain lock, in the same hold as the delete, so a key that another
// program stored in its place after want was read is never deleted:
// ErrChanged then, and nothing was deleted. ErrNotFound when the tenant has
// no key. The app and calmkeyctl delete with it, since the user agreed to
// delete the key shown. A damaged key (whose identity cannot be read) is
// deleted.
func (s *Store) DeleteIf(ctx context.Context, tenant string, want Identity) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.run(ctx, lockWrite, func(ctx context.Context, b Backend) error {
		ix, err := s.layout(ctx, b, true)
		if err != nil {
			return err
		}
		sum, there, err := s.summary(ctx, b, tenant)
		switch {
		case err != nil:
			return err
		case !there:
			return notStored(tenant)
		case there && sum.Err == nil && !sum.Identity().Same(want):
			return &Error{kind: ErrChanged, facts: ErrorFacts{Tenant: tenant, Left: LeftNothingDeleted}, msg: "the service key of tenant " + Printable(tenant) + " was replaced meanwhile; nothing was deleted"}
		}
		return s.removeTenant(ctx, b, ix, tenant)
	}, nil)
}

// remove is Delete's work, for a Save that takes back what it stored.
func (s *Store) remove(ctx context.Context, b Backend, tenant string, it items) (found bool, err error) {
	ix, err := s.layout(ctx, b, true)
	if err != nil {
		return false, err
	}
	return s.removeFrom(b, ix, tenant, it)
}

// removeFrom deletes tenant's manifest, its index entry and its parts;
// found reports that there was a key (a manifest, or an index entry).
func (s *Store) removeFrom(b Backend, ix *index, tenant string, it items) (found bool, err error) {
	mtext, err := b.Get(s.service, it.manifest)
	if err != nil && !isNotFound(err) {
		return false, s.backendErr(err)
	}
	chunks := 0
	set := partSetA
	if err == nil {
		m, derr := decodeManifest(mtext, LayoutVersion)
		if derr == nil && m.TenantSHA256 != tenantHash(tenant) {
			// Another tenant's key (see claimed): not this one to delete.
			return false, nil
		}
		found = true
		if derr == nil {
			chunks, set = m.Chunks, m.Parts
		}
		if err := b.Delete(s.service, it.manifest); err != nil && !isNotFound(err) {
			return false, s.backendErr(err)
		}
	}
	if ix.has(tenant) {
		found = true
		if err := s.updateIndex(b, ix, indexEdit{tenant: tenant}); err != nil {
			return false, err
		}
	}
	// From the last part down, so that an interrupted delete leaves a
	// prefix that the next sweep finds.
	in := it.inSet(set)
	for i := chunks; i >= 1; i-- {
		if err := b.Delete(s.service, in.part(i)); err != nil && !isNotFound(err) {
			return found, s.backendErr(err)
		}
	}
	return found, s.sweepParts(b, in, chunks)
}

// deleteUnnamed is Delete(ctx, ""): a damaged index, or a damaged key of
// the old layout.
func (s *Store) deleteUnnamed(ctx context.Context, b Backend) error {
	_, err := s.layout(ctx, b, true)
	switch {
	case err == nil:
		return ErrNotFound
	case !errors.Is(err, ErrCorrupt):
		return err
	}
	if _, err := s.readIndex(b); errors.Is(err, ErrCorrupt) {
		// The damaged index goes; the keys it listed stay.
		if err := b.Delete(s.service, IndexItem); err != nil && !isNotFound(err) {
			return s.backendErr(err)
		}
		return nil
	} else if err != nil {
		return err
	}
	_, err = s.sweepLegacy(b)
	return err
}

// sweepParts removes parts of a key from part from+1 up: saves leave parts
// 1..k with gaps shorter than parallelWidth, so a longer run of missing
// parts ends the leftovers.
func (s *Store) sweepParts(b Backend, it items, from int) error {
	missing := 0
	for i := from + 1; i <= maxChunks && missing < parallelWidth; i++ {
		err := b.Delete(s.service, it.part(i))
		switch {
		case isNotFound(err):
			missing++
		case err != nil:
			return s.backendErr(err)
		default:
			missing = 0
		}
	}
	return nil
}
