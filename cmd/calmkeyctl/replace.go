package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

var replaceCmd = &command{
	name:    "replace",
	usage:   "replace FILE|- [--tenant NAME] [--no-test] [--proxy URL|direct|system] [--json] [--timeout D]",
	summary: "swap a tenant's key for a new one, tested first",
	help: `Replaces the tenant's stored key with the new key in FILE (- reads stdin),
with no moment without a key. In this order:
  1. the format check, as for upload;
  2. the new key must be for the stored key's tenant (uaa.identityzone);
     otherwise it is refused, naming both tenants;
  3. a key identical to the stored one: "already stored", nothing changes
     (exit status 0);
  4. the new key must log on (token, then API, as 'calmkeyctl test' does)
     before anything is stored; when it does not, nothing changes and the
     test's diagnosis is printed (exit status 1). --no-test skips this, for
     a machine with no network, with a warning;
  5. the swap, under the keychain lock: at every moment the keychain holds
     the old key or the new one, whole, also when calmkeyctl is killed.
--tenant names the tenant whose key to replace; it may be left out when the
new key's tenant, or the only tenant, has a key. The test that let the key
in is kept as its last test, and the replacement (when, the old and new
client id) as the tenant's last replacement, which status and list --json
show. --timeout bounds the whole command; the logon gets all of it but a
reserve for the swap. With --json, prints one JSON object: "replaced"
(bool), "already_stored" (bool), "tenant", "old_client_id",
"new_client_id", "tested" (bool), "test" (the report, as test --json), and
"error_code" and "error" on failure (test_failed, other_tenant, changed,
and those of status).

Rotating a key: create the new key in the ` + vault.CockpitPath + `, run
replace, update the managed systems, then delete the old key in the cockpit.`,
	example: `  calmkeyctl replace ~/Downloads/cloudalm-key-2027.txt
  calmkeyctl replace new-key.json --tenant acme-prod --json | jq .replaced
  cf service-key calm-api calm-key-2 | calmkeyctl replace - --no-test`,
	run: runReplace,
}

// replaceJSON is replace --json. Field names are a contract for scripts.
type replaceJSON struct {
	Replaced      bool        `json:"replaced"`
	AlreadyStored bool        `json:"already_stored"`
	Tenant        string      `json:"tenant,omitempty"`
	OldClientID   string      `json:"old_client_id,omitempty"`
	NewClientID   string      `json:"new_client_id,omitempty"`
	Tested        bool        `json:"tested"`
	Test          *reportJSON `json:"test,omitempty"`
	ErrorCode     string      `json:"error_code,omitempty"`
	Error         string      `json:"error,omitempty"`
	Tenants       []string    `json:"tenants,omitempty"` // with tenant_required
}

// replacing is one replace: the new key and the stored one it replaces.
type replacing struct {
	inv      *invocation
	key      *vault.Key
	fileName string
	old      *vault.Stored
	out      replaceJSON
}

func runReplace(a *app, c *command, args []string) int {
	fl := c.flags()
	noTest := fl.Bool("no-test", false, "store the new key without logging on with it first (no network); warns")
	proxy := proxyFlag(fl)
	inv, pos, code := a.begin(c, fl, args, shared{json: true, tenant: true, minArgs: 1, maxArgs: 1})
	if inv == nil {
		return code
	}
	defer inv.end()
	if code, ok := a.checkProxyFlag(c, fl, *proxy); !ok {
		return code
	}
	inv.proxy = *proxy
	r := &replacing{inv: inv}
	inv.jsonErr = func(errCode, msg string, tenants []string) any {
		out := r.out
		out.ErrorCode, out.Error, out.Tenants = errCode, msg, tenants
		return out
	}
	if r.key, r.fileName, code = inv.parseInput(pos[0]); r.key == nil {
		if inv.asJSON {
			inv.writeJSON(replaceJSON{ErrorCode: "invalid_key", Error: "the new key is not a valid service key; see stderr"})
		}
		return code
	}
	r.out.NewClientID = r.key.ClientID
	if code, ok := r.loadOld(); !ok {
		return code
	}
	if code, ok := r.check(); !ok {
		return code
	}
	var rep *almtest.Report
	if *noTest {
		inv.warnf("the new key was not tested (--no-test): it is stored without knowing that it logs on. Run 'calmkeyctl test%s' when the machine has network.", tenantArg(r.key.Tenant))
	} else if rep, code = r.test(); rep == nil || !rep.OK {
		return code
	}
	return r.swap(rep)
}

// loadOld reads the stored key to replace: the named tenant's, else the new
// key's tenant's, else the only tenant's (whose tenant check then names
// both).
func (r *replacing) loadOld() (int, bool) {
	inv := r.inv
	tenant := inv.named
	if tenant == "" {
		sums, err := inv.store.List(inv.ctx)
		if err != nil {
			return inv.fail(err, ""), false
		}
		tenant = r.key.Tenant
		if len(sums) == 1 {
			tenant = sums[0].Tenant
		}
		for _, s := range sums {
			if s.Tenant == r.key.Tenant {
				tenant = s.Tenant
			}
		}
	}
	st, err := inv.store.Load(inv.ctx, tenant)
	if errors.Is(err, vault.ErrNotFound) {
		inv.failWith("not_stored", fmt.Sprintf("no service key is stored for tenant %s, so there is none to replace. Store the key with 'calmkeyctl upload %s'.", vault.Printable(tenant), "FILE"), nil)
		return exitNo, false
	}
	if err != nil {
		return inv.fail(err, tenant), false
	}
	r.old = st
	r.out.Tenant, r.out.OldClientID = st.Key.Tenant, st.Key.ClientID
	return exitOK, true
}

// check is rules 2 and 3: the same tenant, and not the stored key itself.
func (r *replacing) check() (int, bool) {
	inv := r.inv
	err := vault.CheckReplace(r.old.Summary(), r.key)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, vault.ErrIdentical):
		if inv.asJSON {
			r.out.AlreadyStored = true
			inv.writeJSON(r.out)
		} else {
			fmt.Fprintf(inv.stdout, "This service key is already stored for tenant %s; nothing was changed.\n", vault.Printable(r.old.Key.Tenant))
		}
		return exitOK, false
	case errors.Is(err, vault.ErrOtherTenant):
		inv.failWith("other_tenant", capitalize(err.Error())+". Nothing was changed.", nil)
		return exitNo, false
	}
	return inv.fail(err, r.old.Key.Tenant), false
}

// swapReserve is the part of --timeout that the logon leaves for the swap
// and for keeping the results.
func (inv *invocation) swapReserve() time.Duration {
	return min(inv.timeout/4, 5*time.Second)
}

// test logs on with the new key as test does and prints the report. A
// failure is reported (exit status 1, nothing changed) and gives rep nil
// or not OK.
func (r *replacing) test() (rep *almtest.Report, code int) {
	inv := r.inv
	d, _ := inv.ctx.Deadline()
	ctx, cancel := context.WithDeadline(inv.ctx, d.Add(-inv.swapReserve()))
	defer cancel()
	if !inv.asJSON {
		fmt.Fprintf(inv.stdout, "Testing the new service key of tenant %s (%s) before it replaces the stored one...\n", vault.Printable(r.key.Tenant), r.key.CredentialType)
	}
	rep = inv.logon(ctx, r.key)
	j := newReportJSON(rep)
	r.out.Tested, r.out.Test = true, &j
	if !inv.asJSON {
		s := rep.String()
		fmt.Fprint(inv.stdout, s)
		if !strings.HasSuffix(s, "\n") {
			fmt.Fprintln(inv.stdout)
		}
	}
	if rep.OK {
		return rep, exitOK
	}
	var why string
	switch {
	case inv.interrupted():
		why = "the test was interrupted"
	case rep.KeyRejected:
		why = "the new key was rejected"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		why = fmt.Sprintf("the new key's logon did not finish within --timeout %s (less %s kept for the swap); allow more time with a longer --timeout", inv.timeout, inv.swapReserve())
	default:
		why = "the new key does not log on (see the steps above)"
	}
	inv.failWith("test_failed", fmt.Sprintf("%s. Nothing was changed: the stored key of tenant %s stays. Check the new key in the %s, or use --no-test only on a machine with no network.", why, vault.Printable(r.key.Tenant), vault.CockpitPath), nil)
	return rep, exitNo
}

// swap stores the new key in the old one's place and records the
// replacement and the test that let it in (rep, nil after --no-test).
func (r *replacing) swap(rep *almtest.Report) int {
	inv := r.inv
	st, err := inv.store.Replace(inv.ctx, r.old.Identity(), r.key, r.fileName)
	switch {
	case errors.Is(err, vault.ErrChanged):
		inv.failWith("changed", capitalize(err.Error())+fmt.Sprintf(". 'calmkeyctl status%s' shows it.", tenantArg(r.key.Tenant)), nil)
		return exitNo
	case errors.Is(err, vault.ErrIdentical):
		return r.storedMeanwhile(err)
	case err != nil:
		return inv.fail(err, r.key.Tenant)
	}
	r.keep(st, rep)
	r.out.Replaced = true
	if inv.asJSON {
		inv.writeJSON(r.out)
		return exitOK
	}
	tested := "not tested"
	if rep != nil {
		tested = "tested: " + rep.Short()
	}
	fmt.Fprintf(inv.stdout, "Replaced the service key of tenant %s: client id %s, was %s (%s)%s.\n",
		vault.Printable(st.Key.Tenant), vault.Printable(st.Key.ClientID), vault.Printable(r.old.Key.ClientID), tested, warningsNote(r.key.Warnings))
	fmt.Fprintf(inv.stdout, "Next: update the managed systems that use this key, then delete the old key (%s) in the %s.\n", vault.Printable(r.old.Key.ClientID), vault.CockpitPath)
	return exitOK
}

// storedMeanwhile reports a key found identical under the lock: another
// program stored it meanwhile.
func (r *replacing) storedMeanwhile(err error) int {
	if r.inv.asJSON {
		r.out.AlreadyStored = true
		r.inv.writeJSON(r.out)
	} else {
		fmt.Fprintf(r.inv.stdout, "%s.\n", capitalize(err.Error()))
	}
	return exitOK
}

// keep records the replacement and, when there was one, the test as the
// new key's last test. A failure is a warning: the key is replaced.
func (r *replacing) keep(st *vault.Stored, rep *almtest.Report) {
	inv := r.inv
	var lt *almtest.LastTest
	if rep != nil {
		t := almtest.NewLastTest(st, rep)
		lt = &t
	}
	err := inv.histErr
	if err == nil {
		err = inv.hist.RecordReplacement(inv.ctx, almtest.NewReplacement(r.old.Identity(), st), lt)
	}
	if err != nil {
		inv.warnf("the key is replaced, but the replacement and its test were not recorded: %v", inv.historyError(err))
	}
}

// replacedJSON is a tenant's last replacement in status --json and list
// --json.
type replacedJSON struct {
	At          time.Time `json:"at"`
	OldClientID string    `json:"old_client_id"`
	NewClientID string    `json:"new_client_id"`
}

func newReplacedJSON(r *almtest.Replacement) *replacedJSON {
	if r == nil {
		return nil
	}
	return &replacedJSON{At: r.At.UTC(), OldClientID: r.OldClientID, NewClientID: r.NewClientID}
}

// replacedText is a last replacement as status shows it: "2026-12-03
// 16:05 CET, was sb-…".
func replacedText(r *almtest.Replacement) string {
	return vault.FormatTime(r.At) + ", was " + vault.Printable(r.OldClientID)
}

// lastReplacements reads the recorded replacements; a history that cannot
// be read is a warning, and no replacement is shown.
func (inv *invocation) lastReplacements() almtest.Replacements {
	var rs almtest.Replacements
	err := inv.histErr
	if err == nil {
		rs, err = inv.hist.Replacements(inv.ctx)
	}
	if err != nil {
		inv.warnf("the record of replaced keys cannot be read: %v", inv.historyError(err))
	}
	return rs
}
