package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/zalando/go-keyring"
)

// ChunkSize is the most bytes one keychain item holds: under Windows' 2,560
// and macOS's about 3,000 (go-keyring base64-encodes on macOS, and the
// security command must stay under 4,096 bytes).
const ChunkSize = 2000

// Item names under the service.
const (
	ManifestItem = "service-key"
	chunkPrefix  = "service-key-part-"
)

// ChunkItem is the item name of part i (1-based).
func ChunkItem(i int) string { return chunkPrefix + strconv.Itoa(i) }

const (
	manifestFormat  = "calmkey-service-key"
	manifestVersion = 1
	encodingPercent = "percent"
	maxFileName     = 255
)

// maxChunks bounds what a manifest may claim: 64 KiB all escaped, in parts.
const maxChunks = (3*MaxFileSize + ChunkSize - 1) / ChunkSize

// manifest is the item that makes a stored key visible; it is written last.
type manifest struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Chunks     int       `json:"chunks"`
	Size       int       `json:"size"`
	Encoding   string    `json:"encoding"`
	SHA256     string    `json:"sha256"`
	UploadedAt time.Time `json:"uploadedAt"`
	FileName   string    `json:"fileName,omitempty"`
}

// Store keeps at most one key in the keychain, in chunks plus a manifest.
// It is safe for concurrent use; its operations run one at a time, and
// across processes Save and Delete run one at a time too, under the
// keychain lock (see LockFile). Each operation runs under the Store's
// deadline; a keychain call that hangs past it is abandoned, not cancelled
// (no keychain API can cancel it), so its goroutine lives on until the
// keychain answers, and later operations on the same Store wait for it (and
// time out while it hangs). A write that outlives the deadline is waited
// for up to WriteGrace more, so that the caller hears the truth (see Save).
type Store struct {
	backend Backend
	service string
	timeout time.Duration
	lockDir string
	now     func() time.Time
	grace   time.Duration // WriteGrace; tests shorten it
	noLock  bool          // benchmarks measure what the lock costs
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

// Service is the keychain service name the Store's items live under.
func (s *Store) Service() string { return s.service }

// Save stores key; ErrAlreadyStored when a key is already there (checked
// under the keychain lock, so of several processes saving at once exactly
// one succeeds). A save that fails leaves nothing behind. ErrBusy when
// another process held the lock past the deadline. A save that runs past the
// deadline is waited for (up to WriteGrace more) and undone before Save
// returns ErrTimeout, so "timeout" means nothing was stored; if the keychain
// has still not answered then, the ErrTimeout says the keychain may hold a
// partial key (Delete removes it). fileName may be a path; only its base
// name is kept.
func (s *Store) Save(ctx context.Context, key *Key, fileName string) error {
	sec := key.secrets()
	if sec == nil || len(sec.raw) == 0 {
		return errors.New("there is no service key to save; upload a key file first")
	}
	data := sec.raw
	sum := sha256.Sum256(data)
	chunks := split(encodePercent(data), ChunkSize)
	m := manifest{
		Format: manifestFormat, Version: manifestVersion, Chunks: len(chunks), Size: len(data),
		Encoding: encodingPercent, SHA256: hex.EncodeToString(sum[:]),
		UploadedAt: s.now().UTC().Truncate(time.Second), FileName: baseName(fileName),
	}
	mtext, err := encodeManifest(m)
	if err != nil {
		return err
	}

	undo := func(b Backend, withManifest bool) {
		// Best effort: the keychain just failed, so these may fail too; the
		// manifest goes first so nothing half-deleted is ever visible.
		if withManifest {
			_ = b.Delete(s.service, ManifestItem)
		}
		for i := len(chunks); i >= 1; i-- {
			_ = b.Delete(s.service, ChunkItem(i))
		}
	}
	return s.run(ctx, lockWrite, func(ctx context.Context, b Backend) error {
		if _, err := b.Get(s.service, ManifestItem); err == nil {
			return ErrAlreadyStored
		} else if !isNotFound(err) {
			return s.backendErr(err)
		}
		// Parts go in parallel: a keychain call is mostly waiting for the
		// daemon, and the manifest that makes them visible comes after all.
		if err := parallel(ctx, len(chunks), func(i int) error {
			return b.Set(s.service, ChunkItem(i+1), chunks[i])
		}); err != nil {
			undo(b, false)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return s.backendErr(err)
		}
		if err := ctx.Err(); err != nil {
			undo(b, false)
			return err
		}
		if err := b.Set(s.service, ManifestItem, mtext); err != nil {
			// A failed Set may still have stored the item on some keychains.
			undo(b, true)
			return s.backendErr(err)
		}
		return nil
	}, func(b Backend) { undo(b, true) })
}

// parallelWidth bounds concurrent keychain calls of one operation.
const parallelWidth = 4

// parallel runs f(0), ..., f(n-1), a few at a time, and returns the error
// of the lowest index that failed. After a failure, or when ctx ends, it
// starts no more calls, so what a failed save leaves is parts 1..k with
// gaps shorter than parallelWidth (what sweep relies on).
func parallel(ctx context.Context, n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, parallelWidth)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		if err := ctx.Err(); err != nil || failed.Load() {
			<-sem
			if err != nil {
				errs[i] = err
			}
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if errs[i] = f(i); errs[i] != nil {
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	return lowestErr(errs)
}

func lowestErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Load returns the stored key: ErrNotFound, ErrCorrupt, ErrTimeout,
// ErrUnavailable (all wrapped, test with errors.Is).
func (s *Store) Load(ctx context.Context) (*Stored, error) {
	var st *Stored
	err := s.run(ctx, lockShared, func(ctx context.Context, b Backend) error {
		// Every key has a part 1, so it is fetched beside the manifest.
		var first string
		var firstErr error
		got := make(chan struct{})
		go func() {
			defer close(got)
			first, firstErr = b.Get(s.service, ChunkItem(1))
		}()
		mtext, err := b.Get(s.service, ManifestItem)
		<-got
		if err != nil {
			if isNotFound(err) {
				return ErrNotFound
			}
			return s.backendErr(err)
		}
		m, err := decodeManifest(mtext)
		if err != nil {
			return corrupt(err.Error())
		}
		chunkErr := func(i int, err error) error {
			if isNotFound(err) {
				return corrupt(fmt.Sprintf("part %d of %d is missing", i, m.Chunks))
			}
			return s.backendErr(err)
		}
		if firstErr != nil {
			return chunkErr(1, firstErr)
		}
		parts := make([]string, m.Chunks)
		parts[0] = first
		errs := make([]error, m.Chunks)
		if err := parallel(ctx, m.Chunks-1, func(i int) error {
			c, err := b.Get(s.service, ChunkItem(i+2))
			parts[i+1], errs[i+1] = c, err
			return err
		}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			for i, err := range errs {
				if err != nil {
					return chunkErr(i+1, err)
				}
			}
		}
		var enc strings.Builder
		for _, p := range parts {
			enc.WriteString(p)
		}
		data, err := decodePercent(enc.String())
		if err != nil {
			return corrupt("a part holds text that is not ours")
		}
		sum := sha256.Sum256(data)
		if len(data) != m.Size || hex.EncodeToString(sum[:]) != m.SHA256 {
			return corrupt("its checksum does not match")
		}
		key, err := parse(data, s.now(), true)
		if err != nil {
			return corrupt("it no longer passes the format check")
		}
		st = &Stored{Key: key, UploadedAt: m.UploadedAt, FileName: m.FileName}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Exists reports whether a key is stored, without reading it.
func (s *Store) Exists(ctx context.Context) (bool, error) {
	var there bool
	err := s.run(ctx, lockNone, func(ctx context.Context, b Backend) error {
		_, err := b.Get(s.service, ManifestItem)
		switch {
		case err == nil:
			there = true
		case !isNotFound(err):
			return s.backendErr(err)
		}
		return nil
	}, nil)
	return there, err
}

// Stamp names the stored key's version cheaply, reading only the manifest
// (one keychain item, no lock): "" when no key is stored, and otherwise a
// string made from the manifest, which holds the key's checksum and its
// upload time to the second: another key, or the same key stored again in
// a later second, has another stamp. A window that must stay true polls it
// and calls Load only when it changes. A damaged manifest has a stamp too;
// Load reports the damage.
func (s *Store) Stamp(ctx context.Context) (string, error) {
	var stamp string
	err := s.run(ctx, lockNone, func(ctx context.Context, b Backend) error {
		mtext, err := b.Get(s.service, ManifestItem)
		switch {
		case isNotFound(err):
			return nil
		case err != nil:
			return s.backendErr(err)
		}
		sum := sha256.Sum256([]byte(mtext))
		stamp = hex.EncodeToString(sum[:16])
		return nil
	}, nil)
	return stamp, err
}

// Delete removes the stored key and any orphaned chunks; ErrNotFound when
// nothing was stored (orphans are swept then too). It runs under the
// keychain lock. Once it has removed the manifest it finishes, even past
// the deadline (waited for up to WriteGrace), since a key cannot be put
// back; ErrTimeout then means nothing was deleted, or, when it says so,
// that parts may be left (invisible, and removed by the next Delete).
func (s *Store) Delete(ctx context.Context) error {
	return s.run(ctx, lockWrite, func(ctx context.Context, b Backend) error {
		mtext, err := b.Get(s.service, ManifestItem)
		if err != nil && !isNotFound(err) {
			return s.backendErr(err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		found := err == nil
		chunks := 0
		if found {
			if m, err := decodeManifest(mtext); err == nil {
				chunks = m.Chunks
			}
			if err := b.Delete(s.service, ManifestItem); err != nil && !isNotFound(err) {
				return s.backendErr(err)
			}
		}
		// From the last part down, so that an interrupted delete leaves a
		// prefix that the next sweep finds.
		for i := chunks; i >= 1; i-- {
			if err := b.Delete(s.service, ChunkItem(i)); err != nil && !isNotFound(err) {
				return s.backendErr(err)
			}
		}
		if err := s.sweep(b, chunks); err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		return nil
	}, nil)
}

// sweep removes items a failed save or delete left behind.
func (s *Store) sweep(b Backend, from int) error {
	if all, ok := b.(interface{ DeleteAll(service string) error }); ok {
		if err := all.DeleteAll(s.service); err != nil && !isNotFound(err) {
			return s.backendErr(err)
		}
		return nil
	}
	// Without a listing, probe the parts from 1 up: saves leave parts 1..k
	// with gaps shorter than parallelWidth, so a longer run of missing parts
	// ends the leftovers. Parts up to from were just deleted.
	missing := 0
	for i := from + 1; i <= maxChunks && missing < parallelWidth; i++ {
		err := b.Delete(s.service, ChunkItem(i))
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

// run executes op with the Store's deadline, under the keychain lock in
// mode, on the backend's session for this operation when it offers one.
//
// When the deadline passes first, op's goroutine is left to finish on its
// own: a hung keychain call cannot be cancelled, so that goroutine (and the
// Store, and the lock) stay busy until the keychain answers. A read returns
// ErrTimeout at once. A write (mode lockWrite) is waited for up to s.grace:
// if op then succeeds and undo is given, undo reverses it, so a caller told
// "timeout" is never left with a stored key; if op ends without undo (a
// Delete, which cannot be undone), its own result is returned; if it has not
// ended by then, the ErrTimeout says what may be left.
func (s *Store) run(ctx context.Context, mode lockMode, op func(context.Context, Backend) error, undo func(Backend)) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// What a write that ends with the deadline has changed: nothing (op
	// undoes a save's parts before it returns the end of ctx, and a delete
	// only returns it before it has removed anything).
	unchanged := ""
	switch {
	case mode == lockWrite && undo != nil:
		unchanged = "; nothing was stored"
	case mode == lockWrite:
		unchanged = "; nothing was deleted"
	}
	select {
	case s.busy <- struct{}{}:
	case <-ctx.Done():
		return s.ctxErr(ctx, unchanged)
	}
	release, err := s.lock(ctx, mode)
	if err != nil {
		<-s.busy
		return err
	}
	const running, finished, abandoned = 0, 1, 2
	var state atomic.Int32
	done := make(chan error, 1)
	ended := make(chan struct{}) // closed when op (and undo) are through
	var late error               // op's result when it ended after the deadline
	go func() {
		defer func() {
			release()
			<-s.busy
			close(ended)
		}()
		b, closeSession, err := s.open()
		if err != nil {
			err = s.backendErr(err)
		} else {
			defer closeSession()
			if err = ctx.Err(); err == nil {
				err = op(ctx, b)
			}
		}
		if !state.CompareAndSwap(running, finished) {
			late = err
			if err == nil && undo != nil {
				undo(b)
			}
			return
		}
		done <- err
	}()
	select {
	case err := <-done:
		return s.result(ctx, err, unchanged)
	case <-ctx.Done():
	}
	if !state.CompareAndSwap(running, abandoned) {
		return s.result(ctx, <-done, unchanged)
	}
	if mode != lockWrite {
		return s.ctxErr(ctx, "")
	}
	wait := time.NewTimer(s.grace)
	defer wait.Stop()
	select {
	case <-ended:
		if undo == nil {
			return s.result(ctx, late, unchanged)
		}
		return s.ctxErr(ctx, unchanged)
	case <-wait.C:
		return s.ctxErr(ctx, fmt.Sprintf(", and the change it had started had not ended %s later; the keychain may hold a partial key: run calmkeyctl delete", s.grace))
	}
}

// result is op's error as run returns it: the end of ctx as ErrTimeout (or
// the cancellation), saying what was changed.
func (s *Store) result(ctx context.Context, err error, changed string) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return s.ctxErr(ctx, changed)
	}
	return err
}

// open returns the backend to use for one operation.
func (s *Store) open() (Backend, func(), error) {
	if so, ok := s.backend.(sessionOpener); ok {
		b, done, err := so.openSession()
		if !errors.Is(err, errNoSession) {
			return b, done, err
		}
	}
	return s.backend, func() {}, nil
}

// ctxErr is the end of ctx: the cancellation itself, or ErrTimeout whose
// text adds what (if anything) the timed-out call changed.
func (s *Store) ctxErr(ctx context.Context, changed string) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		if changed != "" {
			return fmt.Errorf("%w%s", ctx.Err(), changed)
		}
		return ctx.Err()
	}
	return &Error{kind: ErrTimeout, msg: fmt.Sprintf(
		"the keychain did not answer within %s%s; if it asks to be unlocked, unlock it and try again", s.timeout, changed)}
}

// Error is what Store returns for keychain trouble: its text says what to do,
// and errors.Is matches it to ErrCorrupt, ErrTimeout, ErrUnavailable or
// ErrBusy.
type Error struct {
	kind  error
	msg   string
	cause error
}

func (e *Error) Error() string { return e.msg }

// Is matches the typed error the Error stands for.
func (e *Error) Is(target error) bool { return target == e.kind }

// Unwrap gives the keychain's own error, if any.
func (e *Error) Unwrap() error { return e.cause }

func corrupt(why string) error {
	return &Error{kind: ErrCorrupt, msg: "the stored service key is damaged (" + why + "); delete it and upload the key file again"}
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, keyring.ErrNotFound)
}

// backendErr turns a keychain failure into the typed error the user acts on.
func (s *Store) backendErr(err error) error {
	if errors.Is(err, keyring.ErrSetDataTooBig) {
		return fmt.Errorf("the keychain refused an item as too big; please report this as a calmkey bug: %w", err)
	}
	return &Error{kind: ErrUnavailable, cause: err, msg: unavailableText(err)}
}

func unavailableText(cause error) string {
	detail := ""
	if cause != nil && cause != ErrUnavailable {
		d := strings.TrimPrefix(cause.Error(), ErrUnavailable.Error()+": ")
		if len(d) > 200 {
			d = d[:200] + "..."
		}
		detail = " (" + d + ")"
	}
	name, what := keychainHelp(runtime.GOOS)
	return "the keychain (" + name + ") cannot be reached" + detail + "; " + what
}

// keychainHelp names the keychain of an OS as its users know it, and says
// what to do when it cannot be reached.
func keychainHelp(goos string) (name, what string) {
	switch goos {
	case "darwin":
		return "your login keychain", "unlock your login keychain in Keychain Access and try again"
	case "windows":
		// Credential Manager fails (ERROR_NO_SUCH_LOGON_SESSION) without an
		// interactive logon: services, tasks that store no password, SSH
		// sessions logged on with a key.
		return "Windows Credential Manager", "it works only in a Windows session you logged on to with your password, " +
			"not from a service or a scheduled task set to \"Do not store password\"; " +
			"check that Control Panel > Credential Manager > Windows Credentials opens for your account, then try again"
	default:
		return "Secret Service", "install and unlock GNOME Keyring, or enable KeePassXC's Secret Service integration, then try again"
	}
}

// encodePercent keeps printable ASCII and line ends as they are and writes
// every other byte, and '%', as %XX: the key's own text is ASCII almost
// everywhere, so parts stay nearly as small as the file.
func encodePercent(data []byte) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(data) + len(data)/16)
	for _, c := range data {
		if (c >= 0x20 && c < 0x7f && c != '%') || c == '\n' || c == '\r' || c == '\t' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

func decodePercent(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c >= 0x80 {
				return nil, errors.New("non-ASCII byte")
			}
			out = append(out, c)
			continue
		}
		if i+2 >= len(s) {
			return nil, errors.New("cut escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return nil, err
		}
		out = append(out, byte(v))
		i += 2
	}
	return out, nil
}

func split(s string, size int) []string {
	var parts []string
	for len(s) > size {
		parts = append(parts, s[:size])
		s = s[size:]
	}
	return append(parts, s)
}

// baseName keeps the last element of a path from any platform.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if len(name) > maxFileName {
		cut := maxFileName
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	return name
}

// encodeManifest writes the manifest as ASCII JSON, escaping non-ASCII
// runes of the file name, so it fits the byte limits wherever it is stored.
func encodeManifest(m manifest) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out.WriteRune(r)
		} else {
			writeJSONEscape(&out, r)
		}
	}
	return out.String(), nil
}

func decodeManifest(text string) (manifest, error) {
	var m manifest
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return m, errors.New("its manifest cannot be read")
	}
	switch {
	case m.Format != manifestFormat:
		return m, errors.New("its manifest is not calmkey's")
	case m.Version != manifestVersion:
		return m, fmt.Errorf("its manifest has version %d, which this calmkey does not know", m.Version)
	case m.Encoding != encodingPercent:
		return m, errors.New("its manifest names an unknown encoding")
	case m.Chunks < 1 || m.Chunks > maxChunks || m.Size < 1 || m.Size > MaxFileSize:
		return m, errors.New("its manifest has impossible sizes")
	}
	return m, nil
}
