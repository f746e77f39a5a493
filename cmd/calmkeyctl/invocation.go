package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// invocation is one run of a command that reads input or uses the keychain:
// what its shared flags said, and what each of its steps uses. Every
// keychain and history call gets ctx, so that --timeout bounds all of them.
type invocation struct {
	*app
	cmd     *command
	fs      *flag.FlagSet
	timeout time.Duration // --timeout
	asJSON  bool          // --json
	named   string        // --tenant, "" when left out
	proxy   string        // test's --proxy: "", direct, system or a URL

	// jsonErr makes the --json reply of a run that could not read what it
	// needed, so that a script still gets one JSON object on stdout.
	jsonErr jsonError

	// ctx ends --timeout after the clock started; inv.app.ctx is the
	// process's, which only an interrupt ends.
	ctx     context.Context
	cancel  context.CancelFunc
	store   *vault.Store
	hist    *almtest.History // nil when histErr says why there is none
	histErr error
}

// jsonError makes the --json reply of a command that could not read a key
// from the error code and message, and the tenants when several have a key
// and none was named.
type jsonError func(errCode, msg string, tenants []string) any

// shared says which of the flags that several commands share a command
// takes besides --timeout, and how many arguments.
type shared struct {
	json, tenant     bool
	minArgs, maxArgs int
}

// begin parses args with fs (which holds the command's own flags) and the
// shared flags, and starts the command's clock. It returns nil and the exit
// status when run must return (help, a usage error); else the caller ends
// the invocation with end.
func (a *app) begin(c *command, fs *flag.FlagSet, args []string, sh shared) (inv *invocation, pos []string, code int) {
	asJSON, named := new(bool), new(string)
	if sh.json {
		asJSON = fs.Bool("json", false, "print one JSON object")
	}
	if sh.tenant {
		named = tenantFlag(fs)
	}
	pos, timeout, code, done := a.parseTimed(c, fs, args, sh.minArgs, sh.maxArgs)
	if done {
		return nil, nil, code
	}
	inv = &invocation{app: a, cmd: c, fs: fs, timeout: timeout, asJSON: *asJSON, named: *named}
	inv.store = a.open(timeout)
	inv.hist, inv.histErr = almtest.OpenHistory(a.env.historyDir, a.service())
	inv.ctx, inv.cancel = context.WithTimeout(a.ctx, timeout)
	return inv, pos, exitOK
}

// restart gives the command a fresh --timeout from now: after a question,
// whose answer may take the user longer than --timeout, so that a slow
// answer is not blamed on the keychain.
func (inv *invocation) restart() {
	inv.cancel()
	inv.ctx, inv.cancel = context.WithTimeout(inv.app.ctx, inv.timeout)
}

// end releases the command's clock.
func (inv *invocation) end() { inv.cancel() }

func (inv *invocation) errorf(format string, args ...any) {
	inv.app.errorf(inv.cmd, format, args...)
}

func (inv *invocation) warnf(format string, args ...any) {
	fmt.Fprintf(inv.stderr, "calmkeyctl %s: warning: %s\n", inv.cmd.name, fmt.Sprintf(format, args...))
}

func (inv *invocation) usageError(format string, args ...any) int {
	return inv.app.usageError(inv.cmd, inv.fs, format, args...)
}

// fail reports a failed keychain call about tenant ("" for none) with what
// to do, also as the JSON reply with --json, and returns the exit status
// (keychainError).
func (inv *invocation) fail(err error, tenant string) int {
	msg, code := keychainError(err, inv.timeout, tenant)
	inv.failWith(errorCode(err), msg, nil)
	return code
}

func (inv *invocation) failWith(errCode, msg string, tenants []string) {
	if inv.asJSON && inv.jsonErr != nil {
		inv.writeJSON(inv.jsonErr(errCode, msg, tenants))
	}
	inv.errorf("%s", msg)
}

// pickTenant is the tenant a key command acts on: the one named with
// --tenant, or else the only one that has a key. When none or several have
// a key, or the keychain fails, it reports why (see fail) and returns ok
// false and the exit status: 2 for several, listing them.
func (inv *invocation) pickTenant() (tenant string, code int, ok bool) {
	if inv.named != "" {
		return inv.named, exitOK, true
	}
	sums, err := inv.store.List(inv.ctx)
	return inv.chooseTenant(sums, err)
}

// chooseTenant is pickTenant once the keys are listed: sums, or err.
func (inv *invocation) chooseTenant(sums []vault.Summary, err error) (tenant string, code int, ok bool) {
	switch {
	case err != nil:
		return "", inv.fail(err, ""), false
	case len(sums) == 0:
		return "", inv.fail(vault.ErrNotFound, ""), false
	case len(sums) == 1:
		return sums[0].Tenant, exitOK, true
	}
	var b strings.Builder
	var names []string
	fmt.Fprintf(&b, "%d tenants have a service key; name one with --tenant NAME:", len(sums))
	for _, sum := range sums {
		names = append(names, sum.Tenant)
		fmt.Fprintf(&b, "\n  %s", vault.Printable(sum.Tenant))
	}
	inv.failWith("tenant_required", b.String(), names)
	return "", exitUsage, false
}

// loadStored reads the key of the tenant named (or the only one, see
// pickTenant). On failure it reports why (see fail) and returns nil and the
// exit status.
func (inv *invocation) loadStored() (*vault.Stored, int) {
	tenant, code, ok := inv.pickTenant()
	if !ok {
		return nil, code
	}
	st, err := inv.store.Load(inv.ctx, tenant)
	if err != nil {
		return nil, inv.fail(err, tenant)
	}
	return st, exitOK
}

// historyReserve is the part of --timeout that a logon leaves for keeping
// its result: a logon that runs out of time is then still recorded, and
// the command still ends within --timeout.
func (inv *invocation) historyReserve() time.Duration {
	return min(inv.timeout/10, time.Second)
}

// logonContext is ctx less the history's reserve: what the keychain reads
// and logons of test get.
func (inv *invocation) logonContext() (context.Context, context.CancelFunc) {
	d, _ := inv.ctx.Deadline()
	return context.WithDeadline(inv.ctx, d.Add(-inv.historyReserve()))
}

// historyError is err of a history call, saying so when it was --timeout
// that ended the wait.
func (inv *invocation) historyError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w; --timeout %s ran out waiting for it", err, inv.timeout)
	}
	return err
}

// record keeps tests as their tenants' last (almtest.History), which list
// shows and the desktop app shows, within what is left of --timeout. A
// failure is a warning: the tests themselves ran.
func (inv *invocation) record(tests ...almtest.LastTest) {
	err := inv.histErr
	if err == nil {
		err = inv.hist.Record(inv.ctx, tests...)
	}
	if err != nil {
		inv.warnf("the result was not kept as the last test: %v", inv.historyError(err))
	}
}

// lastTests reads the recorded tests; a history that cannot be read is a
// warning, and every tenant shows as not tested.
func (inv *invocation) lastTests() almtest.LastTests {
	var tests almtest.LastTests
	err := inv.histErr
	if err == nil {
		tests, err = inv.hist.Read(inv.ctx)
	}
	if err != nil {
		inv.warnf("the last tests cannot be read: %v", inv.historyError(err))
	}
	return tests
}

// forget removes a deleted key's last test; when it cannot, it says that
// the entry was left, and where.
func (inv *invocation) forget(tenant string) {
	err := inv.histErr
	if err == nil {
		if err = inv.hist.Forget(inv.ctx, tenant); err == nil {
			return
		}
		err = fmt.Errorf("it stays in %s: %w", vault.Printable(inv.hist.Path()), inv.historyError(err))
	}
	inv.warnf("the last test of tenant %s was not removed with its key (it is shown for no other key): %v", vault.Printable(tenant), err)
}
