package vault

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zalando/go-keyring"
	"golang.org/x/sync/errgroup"
)

// parallelWidth bounds concurrent keychain calls of one operation.
const parallelWidth = 4

// parallel runs f(0), ..., f(n-1), parallelWidth at a time, and returns the
// error of the lowest index that failed. After a failure, or when ctx ends,
// it starts no more calls, so what a failed save leaves is parts 1..k with
// gaps shorter than parallelWidth (what sweepParts relies on).
func parallel(ctx context.Context, n int, f func(i int) error) error {
	errs := make([]error, n)
	var failed atomic.Bool
	var g errgroup.Group
	g.SetLimit(parallelWidth)
	for i := range n {
		// Go waits for a free slot, so these checks see every call that
		// ended before this one starts.
		g.Go(func() error {
			switch {
			case failed.Load():
			case ctx.Err() != nil:
				errs[i] = ctx.Err()
			default:
				if errs[i] = f(i); errs[i] != nil {
					failed.Store(true)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	for _, err := range errs {
		if err != nil {
			return err
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
	unchanged := LeftUnsaid
	switch {
	case mode == lockWrite && undo != nil:
		unchanged = LeftNothingStored
	case mode == lockWrite:
		unchanged = LeftNothingDeleted
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
	c := s.start(ctx, release, op, undo)
	select {
	case err := <-c.done:
		return s.result(ctx, err, unchanged)
	case <-ctx.Done():
	}
	if !c.state.CompareAndSwap(opRunning, opAbandoned) {
		return s.result(ctx, <-c.done, unchanged)
	}
	if s.abandoned != nil {
		s.abandoned()
	}
	if mode != lockWrite {
		return s.ctxErr(ctx, LeftUnsaid)
	}
	return s.graceWait(ctx, c, undo != nil, unchanged)
}

// The states of a running op: whoever moves it from opRunning decides
// whether the op's result is waited for or left behind.
const (
	opRunning int32 = iota
	opFinished
	opAbandoned
)

// opCall is an op that run started.
type opCall struct {
	state atomic.Int32
	done  chan error    // op's result, when it ended before the deadline
	ended chan struct{} // closed when op (and undo) are through
	late  error         // op's result when it ended after the deadline
}

// start runs op in a goroutine on a session of the backend; when it ends,
// the lock and the Store are released. An op that ends after run gave up
// on it is undone (when undo is given).
func (s *Store) start(ctx context.Context, release func(), op func(context.Context, Backend) error, undo func(Backend)) *opCall {
	c := &opCall{done: make(chan error, 1), ended: make(chan struct{})}
	go func() {
		defer func() {
			release()
			<-s.busy
			close(c.ended)
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
		if c.state.CompareAndSwap(opRunning, opFinished) {
			c.done <- err
			return
		}
		c.late = err
		if err == nil && undo != nil {
			undo(b)
		}
	}()
	return c
}

// graceWait waits up to s.grace for a write that outlived the deadline.
func (s *Store) graceWait(ctx context.Context, c *opCall, undoable bool, unchanged Left) error {
	wait := time.NewTimer(s.grace)
	defer wait.Stop()
	select {
	case <-c.ended:
		if !undoable {
			return s.result(ctx, c.late, unchanged)
		}
		return s.ctxErr(ctx, unchanged)
	case <-wait.C:
		return s.ctxErr(ctx, LeftPartialKey)
	}
}

// result is op's error as run returns it: the end of ctx as ErrTimeout (or
// the cancellation), saying what was changed.
func (s *Store) result(ctx context.Context, err error, changed Left) error {
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
func (s *Store) ctxErr(ctx context.Context, changed Left) error {
	text := s.leftText(changed)
	if errors.Is(ctx.Err(), context.Canceled) {
		if text != "" {
			return fmt.Errorf("%w%s", ctx.Err(), text)
		}
		return ctx.Err()
	}
	return &Error{kind: ErrTimeout, facts: ErrorFacts{Wait: s.timeout, Grace: s.grace, Left: changed}, msg: fmt.Sprintf(
		"the keychain did not answer within %s%s; if it asks to be unlocked, unlock it and try again", s.timeout, text)}
}

// leftText is the English of what a call that ended with its deadline
// left, as ctxErr adds it.
func (s *Store) leftText(l Left) string {
	switch l {
	case LeftNothingStored:
		return "; nothing was stored"
	case LeftNothingDeleted:
		return "; nothing was deleted"
	case LeftPartialKey:
		return fmt.Sprintf(", and the change it had started had not ended %s later; the keychain may hold a partial key: run calmkeyctl delete", s.grace)
	}
	return ""
}

// Error is what Store returns for keychain trouble: its text says what to do,
// and errors.Is matches it to ErrCorrupt, ErrTimeout, ErrUnavailable or
// ErrBusy.
type Error struct {
	kind  error
	msg   string
	cause error
	facts ErrorFacts
}

func (e *Error) Error() string { return e.msg }

// Facts are the Error's facts that its English text holds, for a front
// end that words them in another language (the window in German).
func (e *Error) Facts() ErrorFacts { return e.facts }

// ErrorFacts are what an Error's text says beside its kind. A fact that
// does not apply is zero.
type ErrorFacts struct {
	Tenant string        // the tenant whose key it is about (raw: escape with Printable)
	Wait   time.Duration // ErrTimeout: how long the keychain was waited for
	Grace  time.Duration // ErrTimeout with LeftPartialKey: how much longer a started write was waited for
	Left   Left          // ErrTimeout, ErrChanged: what the call left in the keychain
	Detail string        // ErrUnavailable: the keychain's own error text (not calmkey's words), shortened
}

// Left says what a call that did not finish left in the keychain.
type Left int

// What a call left (ErrorFacts.Left).
const (
	LeftUnsaid         Left = iota // nothing said: a read, or not known
	LeftNothingStored              // nothing was stored
	LeftNothingDeleted             // nothing was deleted
	LeftPartialKey                 // a write had not ended Grace later: the keychain may hold a partial key (calmkeyctl delete)
	LeftNotReplaced                // Replace: the key was not replaced
	LeftEitherKey                  // Replace: either key may be stored now, whole (calmkeyctl list shows which)
	LeftNothingChanged             // ErrChanged: nothing was changed
)

// Is matches the typed error the Error stands for.
func (e *Error) Is(target error) bool { return target == e.kind }

// Unwrap gives the keychain's own error, if any.
func (e *Error) Unwrap() error { return e.cause }

// corrupt is the damage of tenant's key ("" for the key of the old layout,
// whose tenant is unknown while it cannot be read).
func corrupt(tenant, why string) error {
	what := "the service key stored by an earlier calmkey"
	if tenant != "" {
		what = "the stored service key of tenant " + Printable(tenant)
	}
	return &Error{kind: ErrCorrupt, facts: ErrorFacts{Tenant: tenant}, msg: what + " is damaged (" + why + "); delete it and upload the key file again"}
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, keyring.ErrNotFound)
}

// backendErr turns a keychain failure into the typed error the user acts on.
func (s *Store) backendErr(err error) error {
	if errors.Is(err, keyring.ErrSetDataTooBig) {
		return fmt.Errorf("the keychain refused an item as too big; please report this as a calmkey bug: %w", err)
	}
	return &Error{kind: ErrUnavailable, cause: err, facts: ErrorFacts{Detail: unavailableDetail(err)}, msg: unavailableText(err)}
}

// unavailableDetail is the keychain's own error, shortened ("" for none).
func unavailableDetail(cause error) string {
	if cause == nil || cause == ErrUnavailable {
		return ""
	}
	d := strings.TrimPrefix(cause.Error(), ErrUnavailable.Error()+": ")
	if len(d) > 200 {
		d = d[:200] + "..."
	}
	return d
}

func unavailableText(cause error) string {
	detail := ""
	if d := unavailableDetail(cause); d != "" {
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
