package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// Several tenants: list, and test --all.

var listCmd = &command{
	name:    "list",
	usage:   "list [--expiring DAYS] [--json]",
	summary: "every tenant's key: region, type, expiry, last test",
	help: `Lists every tenant that has a key, by name: region, credential type,
certificate expiry (x509 keys) and the last logon test that 'calmkeyctl
test' ran: its outcome and when. Never shows a secret. It reads every
tenant's key whole (` + strconv.Itoa(vault.LoadsAtOnce) + ` at a time), so a key with a damaged part shows as
damaged, as status and test show it. A key stored by an earlier calmkey
under a name that is not a valid tenant (subdomain) name, such as a
look-alike of another tenant's name, is flagged. Exit status 0 whenever the
keychain answered, also when no key is stored. With --json, prints one JSON
object: "service", "tenants" (a list: "tenant", "region", "client_id",
"credential_type", "credential_type_declared", "api_endpoint", "token_url",
"uploaded_at", "file_name", "cert_expiry", "tenant_name_error" for a name
that is not a valid tenant name, "last_test" with "result" (works, warning,
fails, rejected), "ok" and "at", or null when not tested; "error_code"
corrupt and "error" for a damaged key), and "error_code" and "error" when
the keychain cannot be read. A key put in by 'calmkeyctl replace' has
"last_replacement" with "at", "old_client_id" and "new_client_id".

--expiring DAYS lists only the tenants whose client certificate expires
within DAYS days (calendar days, counted as everywhere in calmkey: 0 is
today) or has expired, and exits 1 if there is any, 0 if there is none: the
nightly reminder (--json adds "expiring_days").`,
	example: `  calmkeyctl list
  calmkeyctl list --json | jq -r '.tenants[] | select(.last_test.ok != true) | .tenant'
  calmkeyctl list --expiring 30 || echo "a certificate runs out within 30 days"`,
	run: runList,
}

// listJSON is list --json. Field names are a contract for scripts.
type listJSON struct {
	Service   string       `json:"service"`
	Expiring  *int         `json:"expiring_days,omitempty"`
	Tenants   []tenantJSON `json:"tenants"`
	ErrorCode string       `json:"error_code,omitempty"`
	Error     string       `json:"error,omitempty"`
}

type tenantJSON struct {
	keyJSON
	LastTest  *lastTestJSON `json:"last_test"`
	ErrorCode string        `json:"error_code,omitempty"`
	Error     string        `json:"error,omitempty"`
}

type lastTestJSON struct {
	Result string    `json:"result"`
	OK     bool      `json:"ok"`
	At     time.Time `json:"at"`
}

func runList(a *app, c *command, args []string) int {
	fl := c.flags()
	days := fl.Int("expiring", -1, "list only the tenants whose certificate expires within DAYS days or has expired; exit 1 if any")
	inv, _, code := a.begin(c, fl, args, shared{json: true})
	if inv == nil {
		return code
	}
	defer inv.end()
	if expiringSet(fl) && *days < 0 {
		return inv.usageError("--expiring takes a number of days, 0 or more (0: today or expired)")
	}
	inv.jsonErr = func(errCode, msg string, _ []string) any {
		return listJSON{Service: a.service(), Tenants: []tenantJSON{}, ErrorCode: errCode, Error: msg}
	}
	entries, code, ok := inv.loadAll(inv.ctx, false)
	if !ok {
		return code
	}
	if expiringSet(fl) {
		return inv.listExpiring(entries, *days)
	}
	tests := inv.lastTests()
	if inv.asJSON {
		replaced := inv.lastReplacements()
		out := listJSON{Service: a.service(), Tenants: []tenantJSON{}}
		for _, e := range entries {
			out.Tenants = append(out.Tenants, entryJSON(e, tests, replaced))
		}
		inv.writeJSON(out)
		return exitOK
	}
	inv.writeList(entries, tests)
	return exitOK
}

// loadAll reads every tenant's key (vault.Store.LoadAll). When the keychain
// fails, or its index of tenants is damaged (which hides which tenants
// there are), or with needOne none is stored, it reports why and returns
// ok false and the exit status.
func (inv *invocation) loadAll(ctx context.Context, needOne bool) (entries []vault.Entry, code int, ok bool) {
	entries, err := inv.store.LoadAll(ctx)
	switch {
	case err != nil:
	case len(entries) == 1 && entries[0].Tenant == "" && entries[0].Err != nil:
		err = entries[0].Err
	case len(entries) == 0 && needOne:
		err = vault.ErrNotFound
	default:
		return entries, exitOK, true
	}
	return nil, inv.fail(err, ""), false
}

// writeList is list's table: a row per tenant, damaged keys as damaged,
// then a warning for each name that is not a valid tenant name.
func (inv *invocation) writeList(entries []vault.Entry, tests almtest.LastTests) {
	if len(entries) == 0 {
		fmt.Fprintf(inv.stdout, "No service key is stored (keychain service %q). Upload one with 'calmkeyctl upload FILE'.\n", inv.service())
		return
	}
	fmt.Fprintf(inv.stdout, "%d %s stored (keychain service %q):\n\n", len(entries), plural(len(entries), "service key", "service keys"), inv.service())
	// The tenant comes last: a name of any length or script then cannot
	// push the other columns out of line.
	tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tTYPE\tCERTIFICATE EXPIRY\tLAST TEST\tTENANT")
	now := time.Now()
	var badNames []string
	for _, e := range entries {
		name := vault.Printable(e.Tenant)
		if nameProblem(e.Tenant) != "" {
			badNames = append(badNames, e.Tenant)
			name += "  (not a valid tenant name: see below)"
		}
		if e.Err != nil {
			fmt.Fprintf(tw, "-\t-\t-\tdamaged: see 'calmkeyctl status%s'\t%s\n", tenantArg(e.Tenant), name)
			continue
		}
		sum := e.Stored.Summary()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", vault.Printable(orUnknown(sum.Region)), sum.CredentialTypeText(), expiryCell(sum.CertExpiry, now), lastTestCell(tests.For(sum)), name)
	}
	tw.Flush()
	if n := len(badNames); n == 1 {
		fmt.Fprintf(inv.stdout, "\nWarning: %s\n", nameWarning(badNames[0]))
	} else if n > 1 {
		fmt.Fprintf(inv.stdout, "\nWarning: the %d names flagged above are not valid tenant (subdomain) names. An earlier calmkey stored these keys; such a name may imitate another tenant's name. 'calmkeyctl status --tenant NAME' tells why for each; check the keys in the %s, and delete those that are not the tenants' with 'calmkeyctl delete --tenant NAME'.\n", n, vault.CockpitPath)
	}
}

// expiryCell is the certificate expiry in list: the local date and the
// words of vault.CertExpiry, "-" for a secret key.
func expiryCell(notAfter, now time.Time) string {
	e := vault.CertExpiry(notAfter, now)
	if e.IsZero() {
		return "-"
	}
	return e.Date() + " (" + e.When() + ")"
}

// lastTestCell is the last test in list: its outcome and when
// (vault.FormatTime).
func lastTestCell(lt *almtest.LastTest) string {
	if lt == nil {
		return "not tested"
	}
	return lt.Report.Short() + ", " + vault.FormatTime(lt.At())
}

// entryJSON is a tenant's object in list --json: the key's facts and last
// test, or error_code and error for a damaged key.
func entryJSON(e vault.Entry, tests almtest.LastTests, replaced almtest.Replacements) tenantJSON {
	if e.Err != nil {
		return tenantJSON{keyJSON: keyJSON{Tenant: e.Tenant, TenantNameError: nameProblem(e.Tenant)}, ErrorCode: errorCode(e.Err), Error: e.Err.Error()}
	}
	sum := e.Stored.Summary()
	t := tenantJSON{keyJSON: newKeyJSON(sum)}
	t.LastReplacement = newReplacedJSON(replaced.Last(sum))
	if lt := tests.For(sum); lt != nil {
		t.LastTest = &lastTestJSON{Result: lt.Report.Code(), OK: lt.Report.OK, At: lt.At().UTC()}
	}
	return t
}

// allJSON is test --all --json. Tenants holds a tenantReport or a
// tenantError per tenant.
type allJSON struct {
	OK        bool       `json:"ok"`
	Tenants   []any      `json:"tenants"`
	Summary   allSummary `json:"summary"`
	ErrorCode string     `json:"error_code,omitempty"`
	Error     string     `json:"error,omitempty"`
}

type allSummary struct {
	Tested        int      `json:"tested"`
	OK            int      `json:"ok"`
	Failed        int      `json:"failed"`
	FailedTenants []string `json:"failed_tenants"`
}

// tenantReport is one tenant's object in test --all --json: "tenant", then
// the fields of its test --json report in their order.
type tenantReport struct {
	Tenant string `json:"tenant"`
	reportJSON
}

// tenantError is one tenant's object in test --all --json when its key
// could not be read: "tenant", then the shape of testErrorJSON.
type tenantError struct {
	Tenant string `json:"tenant"`
	testErrorJSON
}

// reportJSON is an almtest.Report as its MarshalJSON writes it (test
// --json), as fields that a struct can put after "tenant";
// TestReportJSONMatches keeps the two the same.
type reportJSON struct {
	OK             bool           `json:"ok"`
	KeyRejected    bool           `json:"key_rejected"`
	Steps          []almtest.Step `json:"steps"`
	Started        time.Time      `json:"started"`
	Ms             int64          `json:"ms"`
	TokenLifetimeS int64          `json:"token_lifetime_s"`
	Scopes         []string       `json:"scopes"`
}

func newReportJSON(r *almtest.Report) reportJSON {
	j := reportJSON{
		OK: r.OK, KeyRejected: r.KeyRejected, Steps: r.Steps, Started: r.Started.Round(0),
		Ms: r.Duration.Milliseconds(), TokenLifetimeS: int64(r.TokenLifetime / time.Second), Scopes: r.Scopes,
	}
	if j.Steps == nil {
		j.Steps = []almtest.Step{}
	}
	if j.Scopes == nil {
		j.Scopes = []string{}
	}
	return j
}

// tenantTest is one tenant's part of test --all: its key as loaded (or why
// it could not be), and the report of its logon.
type tenantTest struct {
	vault.Entry
	rep *almtest.Report
}

func (tt *tenantTest) ok() bool { return tt.Err == nil && tt.rep != nil && tt.rep.OK }

// testAll is test --all: every tenant's logon, almtest.TestsAtOnce at a
// time, a line per tenant in name order as soon as it and those before it
// are done, then a summary; exit status 1 if any tenant fails.
func (inv *invocation) testAll() int {
	inv.jsonErr = func(errCode, msg string, _ []string) any {
		return allJSON{Tenants: []any{}, Summary: allSummary{FailedTenants: []string{}}, ErrorCode: errCode, Error: msg}
	}
	ctx, cancel := inv.logonContext()
	defer cancel()
	entries, code, ok := inv.loadAll(ctx, true)
	if !ok {
		return code
	}
	if !inv.asJSON {
		fmt.Fprintf(inv.stdout, "Testing the service keys of %d %s, %d at a time...\n", len(entries), plural(len(entries), "tenant", "tenants"), min(almtest.TestsAtOnce, len(entries)))
	}
	results := inv.testEach(ctx, entries, func(r *tenantTest) {
		if !inv.asJSON {
			inv.writeTenantLine(inv.stdout, r)
		}
	})
	if !inv.interrupted() {
		inv.recordAll(results)
	}
	sum := summarize(results)
	if inv.asJSON {
		inv.writeJSON(allJSON{OK: sum.Failed == 0, Tenants: inv.tenantReports(results), Summary: sum})
	} else {
		fmt.Fprintln(inv.stdout, sum.line())
	}
	if sum.Failed > 0 {
		return exitNo
	}
	return exitOK
}

// testEach logs on with every key that loaded, almtest.TestsAtOnce at a
// time, and calls each with the tenants' results in name order, each as
// soon as it and those before it are done.
func (inv *invocation) testEach(ctx context.Context, entries []vault.Entry, each func(*tenantTest)) []tenantTest {
	results := make([]tenantTest, len(entries))
	done := make([]chan struct{}, len(entries))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var g errgroup.Group
	g.SetLimit(almtest.TestsAtOnce)
	// Go waits for a free slot, so the tests start from a goroutine of
	// their own while this one prints those that are done.
	go func() {
		for i, e := range entries {
			g.Go(func() error {
				defer close(done[i])
				results[i] = tenantTest{Entry: e}
				if e.Err == nil {
					results[i].rep = inv.logon(ctx, e.Stored.Key)
				}
				return nil
			})
		}
	}()
	for i := range results {
		<-done[i]
		each(&results[i])
	}
	// Every test has run, and so every Go has been called.
	_ = g.Wait()
	return results
}

// recordAll keeps the reports as the tenants' last tests.
func (inv *invocation) recordAll(results []tenantTest) {
	var tests []almtest.LastTest
	for _, r := range results {
		if r.rep != nil {
			tests = append(tests, almtest.NewLastTest(r.Stored, r.rep))
		}
	}
	if len(tests) > 0 {
		inv.record(tests...)
	}
}

func summarize(results []tenantTest) allSummary {
	sum := allSummary{FailedTenants: []string{}}
	for i := range results {
		sum.Tested++
		if results[i].ok() {
			sum.OK++
		} else {
			sum.Failed++
			sum.FailedTenants = append(sum.FailedTenants, results[i].Tenant)
		}
	}
	return sum
}

// line is test --all's last line: how many were tested, work and fail,
// naming those that fail.
func (s allSummary) line() string {
	line := fmt.Sprintf("%d %s tested: %d %s", s.Tested, plural(s.Tested, "tenant", "tenants"), s.OK, plural(s.OK, "works", "work"))
	if s.Failed > 0 {
		names := make([]string, len(s.FailedTenants))
		for i, n := range s.FailedTenants {
			names[i] = vault.Printable(n)
		}
		line += fmt.Sprintf(", %d %s (%s)", s.Failed, plural(s.Failed, "fails", "fail"), strings.Join(names, ", "))
	}
	return line + "."
}

// tenantReports are test --all --json's tenants: a tenantReport each, or
// a tenantError for a key that could not be read.
func (inv *invocation) tenantReports(results []tenantTest) []any {
	out := make([]any, len(results))
	for i, r := range results {
		if r.Err != nil {
			msg, _ := keychainError(r.Err, inv.timeout, r.Tenant)
			out[i] = tenantError{Tenant: r.Tenant, testErrorJSON: testErrorJSON{Steps: []struct{}{}, ErrorCode: errorCode(r.Err), Error: msg}}
			continue
		}
		out[i] = tenantReport{Tenant: r.Tenant, reportJSON: newReportJSON(r.rep)}
	}
	return out
}

// writeTenantLine is test --all's line for one tenant: a status word, the
// tenant and its credential type, the outcome and, on trouble, the first
// step in trouble and what to do. A failed step's route has a line of its
// own under it, as in test's report, since the way out may be why; a
// tenant that works stays one line (--json has every step's route).
func (inv *invocation) writeTenantLine(w io.Writer, r *tenantTest) {
	name := vault.Printable(r.Tenant)
	if r.Err != nil {
		msg, _ := keychainError(r.Err, inv.timeout, r.Tenant)
		fmt.Fprintf(w, "FAIL  %s: the key cannot be read: %s\n", name, msg)
		return
	}
	word := "ok  "
	switch {
	case !r.rep.OK:
		word = "FAIL"
	case r.rep.Code() == "warning":
		word = "warn"
	}
	line := fmt.Sprintf("%s  %s (%s): %s", word, name, r.Stored.Key.CredentialType, r.rep.Short())
	if step := r.rep.FirstTrouble(); step != nil {
		line += "; " + step.String()
		if step.Route != nil && !r.rep.OK {
			line += "\n      Route: " + almtest.RouteText(*step.Route)
		}
		if step.Hint != "" {
			line += "\n      What to do: " + step.Hint
		}
	} else {
		line += fmt.Sprintf(" (%d ms)", r.rep.Duration.Milliseconds())
	}
	fmt.Fprintln(w, line)
}
