package almtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/calmkey/calmkey/internal/lockfile"
	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/vault"
)

// History is the last logon test of each tenant, shared by the desktop app
// and calmkeyctl: whichever ran a test, the other shows its outcome. It is
// a small JSON file per keychain service,
//
//	Linux    $XDG_CONFIG_HOME/calmkey/last-tests-<service>.json (~/.config/...)
//	macOS    ~/Library/Application Support/calmkey/last-tests-<service>.json
//	Windows  %AppData%\calmkey\last-tests-<service>.json
//
// readable by the user alone (mode 0600; on Windows an access list for the
// user), replaced whole on every write (a temporary file renamed over it)
// under a lock on the file beside it with ".lock" added, so that two
// processes recording at once lose neither result. It holds what a Report
// holds, which never includes a secret or a token, and names each key by
// its vault.Identity: a result is shown only for the key it was made with,
// never for one stored in its place since.
//
// What is read from the file is not trusted more than a server's answer:
// another program may have written it. Every string is cleaned as a run
// cleans server text, and only records of the shape calmkey writes are kept
// (see historyclean.go).
//
// Its methods touch the file system and may wait for the lock, so the app
// calls them off the UI goroutine, and each is bounded by its context (and
// by historyMaxWait at most).
type History struct {
	path string
}

// LastTest is one tenant's last test, and the key it was made with.
type LastTest struct {
	Tenant     string    `json:"tenant"`
	ClientID   string    `json:"client_id"`
	UploadedAt time.Time `json:"uploaded_at"`
	// SHA256 is the key file's, as vault.Identity has it. A record from a
	// calmkey before it was kept has none and matches no key: that test is
	// shown as not run until the key is tested again, rather than vouching
	// for whatever key now has the same client id and upload time.
	SHA256 string  `json:"sha256,omitempty"`
	Report *Report `json:"report"`
}

// At is when the test ran.
func (lt *LastTest) At() time.Time { return lt.Report.Started }

// Identity is the key the test was made with.
func (lt *LastTest) Identity() vault.Identity {
	return vault.Identity{Tenant: lt.Tenant, ClientID: lt.ClientID, UploadedAt: lt.UploadedAt, SHA256: lt.SHA256}
}

// Of reports whether the test was made with the key that sum (or a Stored's
// Summary) describes: vault.Identity.Same, the one "same key" decision.
func (lt *LastTest) Of(sum vault.Summary) bool {
	return lt != nil && lt.SHA256 != "" && lt.Identity().Same(sum.Identity())
}

// NewLastTest is the record of rep, a test of the stored key st.
func NewLastTest(st *vault.Stored, rep *Report) LastTest {
	id := st.Identity()
	return LastTest{Tenant: id.Tenant, ClientID: id.ClientID, UploadedAt: id.UploadedAt, SHA256: id.SHA256, Report: rep}
}

// LastTests are the recorded tests by tenant.
type LastTests map[string]LastTest

// For is the last test of the key sum describes, nil when it has none.
func (lts LastTests) For(sum vault.Summary) *LastTest {
	lt, ok := lts[sum.Tenant]
	if !ok || !lt.Of(sum) || lt.Report == nil {
		return nil
	}
	return &lt
}

const (
	historyFormat  = "calmkey-last-tests"
	historyVersion = 1
	historyRetry   = 5 * time.Millisecond
	// historyMaxWait bounds every History call whose caller's context
	// allows more, or has no deadline: a holder of the lock keeps it for
	// the milliseconds a read and a write of a small file take, so a
	// longer wait means a stuck program, not a busy one.
	historyMaxWait = 10 * time.Second
	// historyMost bounds what is read: a file that large is not ours.
	historyMost = 16 << 20
)

// historyFile is the file's content. Gen counts the writes, so that Stamp
// tells two versions apart that the file system cannot (same size, same
// mtime tick, a reused inode); it comes before Tests, so that Stamp finds it
// in the file's first bytes.
type historyFile struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Gen     uint64    `json:"gen,omitempty"`
	Tests   LastTests `json:"tests"`
	// Replacements are the keys replaced (see Replacement); a calmkey
	// before them leaves them out, and drops them when it writes.
	Replacements Replacements `json:"replacements,omitempty"`
}

// OpenHistory returns the history of keychain service (vault.DefaultService
// when ""), kept in dir: the user's config folder + "calmkey" when dir is
// "". It does not touch the file.
func OpenHistory(dir, service string) (*History, error) {
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("calmkey finds no folder to remember the last tests in: %w", err)
		}
		dir = filepath.Join(base, "calmkey")
	}
	return &History{path: filepath.Join(dir, "last-tests-"+vault.ServiceFileName(service)+".json")}, nil
}

// Path is the history's file.
func (h *History) Path() string { return h.path }

// Read returns every recorded test; none when nothing was recorded yet.
func (h *History) Read(ctx context.Context) (LastTests, error) {
	var tests LastTests
	err := h.locked(ctx, false, func() error {
		hf, err := h.read()
		tests = hf.Tests
		return err
	})
	return tests, err
}

// Record keeps each test as its tenant's last, replacing the one before.
func (h *History) Record(ctx context.Context, tests ...LastTest) error {
	return h.update(ctx, func(hf *historyFile) {
		for _, lt := range tests {
			if lt.Report != nil {
				hf.Tests[lt.Tenant] = lt
			}
		}
	})
}

// Forget removes the tenants' last tests (for keys that were deleted).
func (h *History) Forget(ctx context.Context, tenants ...string) error {
	return h.update(ctx, func(hf *historyFile) {
		for _, t := range tenants {
			delete(hf.Tests, t)
		}
	})
}

func (h *History) update(ctx context.Context, change func(*historyFile)) error {
	return h.locked(ctx, true, func() error {
		hf, err := h.read()
		if err != nil {
			// A file that cannot be read holds nothing worth keeping: it
			// is replaced, so that recording works again.
			hf = historyFile{Tests: LastTests{}}
		}
		change(&hf)
		b, err := json.MarshalIndent(historyFile{Format: historyFormat, Version: historyVersion, Gen: hf.Gen + 1, Tests: hf.Tests, Replacements: hf.Replacements}, "", "  ")
		if err != nil {
			return err
		}
		return privfile.Replace(h.path, append(b, '\n'))
	})
}

func (h *History) read() (historyFile, error) {
	f, err := os.Open(h.path)
	if errors.Is(err, fs.ErrNotExist) {
		return historyFile{Tests: LastTests{}}, nil
	}
	if err != nil {
		return historyFile{}, err
	}
	defer f.Close()
	var hf historyFile
	dec := json.NewDecoder(&limited{f, historyMost})
	if err := dec.Decode(&hf); err != nil || hf.Format != historyFormat || hf.Version != historyVersion {
		return historyFile{}, fmt.Errorf("%s is not a history of calmkey's tests that this calmkey can read; the next test recorded replaces it", h.path)
	}
	hf.Tests = hf.Tests.cleaned()
	hf.Replacements = hf.Replacements.cleaned()
	return hf, nil
}

// noHistory is the stamp of a history that was never written.
const noHistory = "none"

// stampRead is how much of the file Stamp reads: enough for the header
// before the tests, which json.MarshalIndent writes in about 80 bytes.
const stampRead = 512

// Stamp names the history's version cheaply, without reading the tests: it
// changes whenever the file is written (Record, Forget, or another program
// replacing it), so that a caller that saw a stamp before knows whether to
// read again. It takes no lock: the file is replaced whole, by a rename, so
// whatever is opened is one version.
func (h *History) Stamp(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f, err := os.Open(h.path)
	if errors.Is(err, fs.ErrNotExist) {
		return noHistory, nil
	}
	if err != nil {
		return "", h.unreadable(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", h.unreadable(err)
	}
	head := make([]byte, stampRead)
	n, _ := io.ReadFull(f, head)
	return fmt.Sprintf("%d-%d-%d-%s", headGen(head[:n]), fi.Size(), fi.ModTime().UnixNano(), fileID(fi)), nil
}

// unreadable is the error of a history file that cannot be read.
func (h *History) unreadable(err error) error {
	return fmt.Errorf("calmkey cannot read the record of the last tests, %s; check that the file and its folder are yours and readable: %w", h.path, err)
}

// headGen is the gen in the start of a history file, 0 when it is not
// there (a file from a calmkey before gen, or not a history at all: the
// stamp then rests on size, time and identity alone).
func headGen(head []byte) uint64 {
	dec := json.NewDecoder(bytes.NewReader(head))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0
	}
	for {
		k, err := dec.Token()
		if err != nil {
			return 0
		}
		v, err := dec.Token()
		if err != nil {
			return 0
		}
		if _, nested := v.(json.Delim); nested {
			// The tests (or something unknown): gen comes before them.
			return 0
		}
		if k == "gen" {
			if f, ok := v.(float64); ok && f >= 0 {
				return uint64(f)
			}
			return 0
		}
	}
}

// locked runs f holding the history's lock, exclusive or shared, waiting
// for it until ctx ends or historyMaxWait has passed, whichever comes first.
// Reading a history that does not exist takes no lock (and makes no folder).
func (h *History) locked(ctx context.Context, exclusive bool, f func() error) error {
	if !exclusive {
		if _, err := os.Stat(filepath.Dir(h.path)); errors.Is(err, fs.ErrNotExist) {
			return f()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, historyMaxWait)
	defer cancel()
	fl, err := lockfile.Open(h.path + ".lock")
	if err != nil {
		return err
	}
	try := fl.TryRLockContext
	if exclusive {
		try = fl.TryLockContext
	}
	ok, err := try(ctx, historyRetry)
	if !ok || err != nil {
		return fmt.Errorf("the record of the last tests, %s, is in use by another calmkey program, which did not let go in time; try again, and if it stays so, close the other calmkey windows and commands: %w", h.path, errOr(err, context.DeadlineExceeded))
	}
	defer fl.Unlock()
	return f()
}

func errOr(err, other error) error {
	if err != nil {
		return err
	}
	return other
}

// limited is io.LimitReader that fails past n bytes instead of ending.
type limited struct {
	f interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}
