// Package instance keeps calmkey to one running desktop app per user and
// keychain service, the way desktop apps behave: a second start does not
// open a second window but asks the running app to show and raise its
// window, and then exits.
//
// The first process takes an exclusive lock on a file beside the keychain
// lock (see vault.LockFile; made by internal/lockfile) through
// gofrs/flock (flock(2), or LockFileEx on Windows) and keeps it for the rest
// of its life: the operating system drops it when the process exits, even by
// a crash, so a lock is never stale. It listens on a loopback TCP port (it
// works alike on Windows, macOS and Linux, and under Wine) and writes the port,
// its process id and a random token to a file beside the lock, readable by
// the user only. A later process that finds the lock held reads that file,
// connects and sends the token; only a request holding the token is obeyed,
// and the answer proves that the running app holds the token too (an HMAC of
// a fresh nonce), so a stale file pointing at a port some other program now
// uses cannot fool it.
//
// A process that is shutting down still holds the lock but answers that it is
// closing (or no longer answers); a new start then waits a bounded time for
// the lock instead of deciding that another instance runs. A "shown" counts
// once a second request half a second later gets one too, in case the app
// read a close just after it showed its window. That is also the
// work-around for Fyne 2.7.1's start-up race (a Fyne app started while its
// previous instance still shuts down can leave its window unshown): the new
// app starts Fyne only once the old process has exited.
//
// The package does not use Fyne: the app passes a function that shows its
// window.
package instance

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/calmkey/calmkey/internal/lockfile"
	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/vault"
)

// DefaultWait is how long a start waits for the running instance to answer,
// or for a closing one to exit. A running app answers once its window is up:
// a cold start on a slow machine, or eight starts at once, take seconds.
const DefaultWait = 15 * time.Second

const (
	retryEvery   = 50 * time.Millisecond
	confirmAfter = 500 * time.Millisecond
	dialTimeout  = time.Second
	readTimeout  = 2 * time.Second // for the request line, on the running side
	magic        = "calmkey-instance/1"
	statusShown  = "shown"
	statusClose  = "closing"
)

// ErrRunning is what Start's error matches (errors.Is) when another instance
// runs and has shown and raised its window: this process should exit 0.
var ErrRunning = errors.New("calmkey is already running; its window was brought to the front")

// ErrNoAnswer is what Start's error matches when another instance holds the
// lock for the whole wait but does not show its window.
var ErrNoAnswer = errors.New("calmkey is already running but does not answer")

// Error is Start's error when another instance holds the lock. Its message
// says what happened and, when the running one did not answer, what to do.
type Error struct {
	Err  error // ErrRunning or ErrNoAnswer
	PID  int   // the running process, 0 when unknown
	Wait time.Duration
}

func (e *Error) Error() string {
	if errors.Is(e.Err, ErrRunning) {
		return ErrRunning.Error()
	}
	proc := "its process"
	if e.PID > 0 {
		proc = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("calmkey is already running (%s) but did not bring its window to the front within %s. "+
		"If no calmkey window is open, end %s (Task Manager on Windows, Activity Monitor on macOS, kill on Linux) and start calmkey again.",
		proc, e.Wait.Round(time.Second), proc)
}

func (e *Error) Unwrap() error { return e.Err }

// Options say where the lock lives and how long to wait.
type Options struct {
	// Dir is the folder of the lock and address files; "" is the user's
	// cache folder + "calmkey", where the keychain lock lives.
	Dir string
	// Service is the keychain service name ("" is vault.DefaultService):
	// one instance per service, so that tests with services of their own
	// run side by side.
	Service string
	// Wait bounds how long Start waits (DefaultWait when 0).
	Wait time.Duration
}

// Instance is the one running instance: it holds the lock until Close or
// until the process exits.
type Instance struct {
	fl       *flock.Flock
	ln       net.Listener
	token    []byte
	addrPath string

	ready chan struct{} // closed by Serve
	show  func() bool
	once  sync.Once
	wg    sync.WaitGroup
}

// addrFile is what the running instance writes beside its lock.
type addrFile struct {
	PID   int    `json:"pid"`
	Port  int    `json:"port"`
	Token string `json:"token"`
}

// Paths returns the lock file and the address file of a service's
// instance: beside the keychain lock, named like it.
func Paths(dir, service string) (lock, addr string, err error) {
	kc, err := vault.LockFile(dir, service)
	if err != nil {
		return "", "", err
	}
	// vault names it keychain-<service, made safe for a file name>.lock.
	part := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(kc), "keychain-"), ".lock")
	d := filepath.Dir(kc)
	return filepath.Join(d, "instance-"+part+".lock"), filepath.Join(d, "instance-"+part+".addr"), nil
}

// Start makes this process the running instance, or, when another holds the
// lock, asks it to show its window. It returns the Instance when this
// process is the one (call Serve once the window exists); an *Error matching
// ErrRunning when the running one showed its window; an *Error matching
// ErrNoAnswer when the lock stayed held for the whole wait and no one
// answered; and any other error when the lock could not be tried at all (the
// caller may start anyway: one instance is a convenience, not a safety).
func Start(ctx context.Context, o Options) (*Instance, error) {
	wait := o.Wait
	if wait <= 0 {
		wait = DefaultWait
	}
	lockPath, addrPath, err := Paths(o.Dir, o.Service)
	if err != nil {
		return nil, err
	}
	fl, err := lockfile.Open(lockPath)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	in, err := takeTurn(ctx, fl, lockPath, addrPath, wait)
	if err != nil {
		_ = fl.Close()
	}
	return in, err
}

// takeTurn takes the lock once its holder lets go, or asks the holder to
// show its window until ctx ends (see Start for what each outcome means).
// The caller closes fl when it returns an error.
func takeTurn(ctx context.Context, fl *flock.Flock, lockPath, addrPath string, wait time.Duration) (*Instance, error) {
	pid := 0
	shownOnce := false
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("calmkey cannot lock %s: %w", lockPath, err)
		}
		if ok {
			return listen(fl, addrPath)
		}
		// Someone holds the lock: ask it to show its window. No answer, or
		// "closing": it is starting or exiting; try again until the wait ends.
		// A "shown" is believed when a second request, confirmAfter later,
		// gets one too: a close that the running app had not yet read when it
		// showed its window (the user closed it and started calmkey again at
		// once, and the app was busy) would end it just after.
		var shown bool
		shown, pid = ask(ctx, addrPath, pid)
		if shown && shownOnce {
			return nil, &Error{Err: ErrRunning, PID: pid, Wait: wait}
		}
		shownOnce = shown
		next := retryEvery
		if shown {
			next = confirmAfter
		}
		select {
		case <-ctx.Done():
			if shownOnce { // the wait ended before the confirmation
				return nil, &Error{Err: ErrRunning, PID: pid, Wait: wait}
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, &Error{Err: ErrNoAnswer, PID: pid, Wait: wait}
			}
			return nil, ctx.Err()
		case <-time.After(next):
		}
	}
}

// listen opens the loopback listener and publishes its address and a new
// token, written to a temporary file and renamed so that no one reads half
// a file.
func listen(fl *flock.Flock, addrPath string) (*Instance, error) {
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("calmkey cannot listen on loopback for a second start: %w", err)
	}
	data, _ := json.Marshal(addrFile{
		PID:   os.Getpid(),
		Port:  ln.Addr().(*net.TCPAddr).Port,
		Token: hex.EncodeToString(token),
	})
	if err := writeFile(addrPath, data); err != nil {
		ln.Close()
		return nil, fmt.Errorf("calmkey cannot write %s: %w", addrPath, err)
	}
	in := &Instance{fl: fl, ln: ln, token: token, addrPath: addrPath, ready: make(chan struct{})}
	in.wg.Add(1)
	go in.accept()
	return in, nil
}

func writeFile(path string, data []byte) error {
	f, err := privfile.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// rename is os.Rename, tried again for half a second: on Windows, renaming
// over a file that another start is reading at that moment fails with a
// sharing violation.
func rename(from, to string) (err error) {
	for range 50 {
		if err = os.Rename(from, to); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// Serve starts obeying requests: show is called for each request with the
// right token (requests that came earlier wait for Serve), and reports whether
// the window is shown; false means the app is closing, and the new start then
// waits for this process to exit. show may block (it runs the UI's queue).
func (in *Instance) Serve(show func() bool) {
	in.once.Do(func() {
		in.show = show
		close(in.ready)
	})
}

// Close stops answering, removes the address file and releases the lock.
// The app never calls it: the lock goes with the process, once the process
// has finished with its window (see the package comment).
func (in *Instance) Close() error {
	err := in.ln.Close()
	in.wg.Wait()
	os.Remove(in.addrPath)
	if uerr := in.fl.Close(); err == nil {
		err = uerr
	}
	return err
}

func (in *Instance) accept() {
	defer in.wg.Done()
	for {
		c, err := in.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(retryEvery) // e.g. out of file descriptors
			continue
		}
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			defer c.Close()
			in.handle(c)
		}()
	}
}

// handle reads one request line, "calmkey-instance/1 show TOKEN NONCE", and
// answers "shown MAC" or "closing MAC", MAC being the HMAC of the answer and
// the nonce under the token. A request without the right token gets no
// answer.
func (in *Instance) handle(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(readTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != magic || f[1] != "show" {
		return
	}
	tok, err := hex.DecodeString(f[2])
	if err != nil || subtle.ConstantTimeCompare(tok, in.token) != 1 {
		return
	}
	nonce := f[3]
	select {
	case <-in.ready:
	case <-time.After(DefaultWait):
		return
	}
	status := statusClose
	if in.show() {
		status = statusShown
	}
	_ = c.SetWriteDeadline(time.Now().Add(readTimeout))
	fmt.Fprintf(c, "%s %s\n", status, mac(in.token, status, nonce))
}

func mac(token []byte, status, nonce string) string {
	h := hmac.New(sha256.New, token)
	h.Write([]byte(status + " " + nonce))
	return hex.EncodeToString(h.Sum(nil))
}

// ask reads the address file and asks the instance there to show its
// window. It reports whether the window was shown, and the process id from
// the file (pid as given when the file cannot be read).
func ask(ctx context.Context, addrPath string, pid int) (shown bool, _ int) {
	data, err := os.ReadFile(addrPath)
	if err != nil {
		return false, pid // not written yet, or removed
	}
	var a addrFile
	if json.Unmarshal(data, &a) != nil || a.Port <= 0 || a.Port > 65535 {
		return false, pid
	}
	token, err := hex.DecodeString(a.Token)
	if err != nil || len(token) == 0 {
		return false, pid
	}
	allowForeground(a.PID) // Windows lets the running app take the foreground
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)))
	if err != nil {
		return false, a.PID
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	nb := make([]byte, 16)
	if _, err := rand.Read(nb); err != nil {
		return false, a.PID
	}
	nonce := hex.EncodeToString(nb)
	if _, err := fmt.Fprintf(c, "%s show %s %s\n", magic, a.Token, nonce); err != nil {
		return false, a.PID
	}
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if err != nil {
		return false, a.PID
	}
	f := strings.Fields(line)
	if len(f) != 2 || !hmac.Equal([]byte(f[1]), []byte(mac(token, f[0], nonce))) {
		return false, a.PID // not the instance that wrote the file
	}
	return f[0] == statusShown, a.PID
}
