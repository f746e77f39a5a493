package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// Several tenants: list, and test --all.

// allInFlight bounds the logon tests test --all runs at once.
const allInFlight = 8

var listCmd = &command{
	name:    "list",
	usage:   "list [--json]",
	summary: "every tenant's key: region, type, expiry, last test",
	help: `Lists every tenant that has a key, by name: region, credential type,
certificate expiry (x509 keys) and the last logon test that 'calmkeyctl
test' ran: its outcome and when. Never shows a secret. It reads one
keychain item per tenant (and one for the index of tenants), not the keys
themselves, so damage in a key's parts shows in status and test. Exit status 0 whenever the keychain answered, also
when no key is stored. With --json, prints one JSON object: "service",
"tenants" (a list: "tenant", "region", "client_id", "credential_type",
"credential_type_declared", "api_endpoint", "token_url", "uploaded_at",
"file_name", "cert_expiry", "last_test" with "result" (works, warning,
fails, rejected), "ok" and "at", or null when not tested; "error_code"
corrupt and "error" for a damaged key), and "error_code" and "error" when
the keychain cannot be read.`,
	example: `  calmkeyctl list
  calmkeyctl list --json | jq -r '.tenants[] | select(.last_test.ok != true) | .tenant'`,
	run: runList,
}

// listJSON is list --json. Field names are a contract for scripts.
type listJSON struct {
	Service   string       `json:"service"`
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
	asJSON := fl.Bool("json", false, "print one JSON object")
	_, timeout, code, done := a.parseTimed(c, fl, args, 0, 0)
	if done {
		return code
	}
	s, ctx, cancel := a.store(timeout)
	defer cancel()
	sums, err := s.List(ctx)
	if err != nil {
		msg, code := keychainError(err, timeout, "")
		if *asJSON {
			a.writeJSON(listJSON{Service: a.service(), Tenants: []tenantJSON{}, ErrorCode: errorCode(err), Error: msg})
		}
		a.errorf(c, "%s", msg)
		return code
	}
	tests := a.lastTests(ctx, c)
	if *asJSON {
		out := listJSON{Service: a.service(), Tenants: []tenantJSON{}}
		for _, sum := range sums {
			out.Tenants = append(out.Tenants, summaryJSON(sum, tests.For(sum)))
		}
		a.writeJSON(out)
		return exitOK
	}
	if len(sums) == 0 {
		fmt.Fprintf(a.stdout, "No service key is stored (keychain service %q). Upload one with 'calmkeyctl upload FILE'.\n", a.service())
		return exitOK
	}
	fmt.Fprintf(a.stdout, "%d %s stored (keychain service %q):\n\n", len(sums), plural(len(sums), "service key", "service keys"), a.service())
	// The tenant comes last: a name of any length or script then cannot
	// push the other columns out of line.
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tTYPE\tCERTIFICATE EXPIRY\tLAST TEST\tTENANT")
	now := time.Now()
	for _, sum := range sums {
		name := vault.Printable(sum.Tenant)
		if sum.Err != nil {
			fmt.Fprintf(tw, "-\t-\t-\tdamaged: see 'calmkeyctl status%s'\t%s\n", tenantArg(sum.Tenant), name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", vault.Printable(orUnknown(sum.Region)), sum.CredentialTypeText(), expiryCell(sum.CertExpiry, now), lastTestCell(tests.For(sum)), name)
	}
	tw.Flush()
	return exitOK
}

// lastTests reads the recorded tests; a history that cannot be read is a
// warning, and every tenant shows as not tested.
func (a *app) lastTests(ctx context.Context, c *command) almtest.LastTests {
	h, err := a.history()
	var tests almtest.LastTests
	if err == nil {
		tests, err = h.Read(ctx)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "calmkeyctl %s: warning: the last tests cannot be read: %v\n", c.name, err)
	}
	return tests
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

// lastTestCell is the last test in list: its outcome and local time.
func lastTestCell(lt *almtest.LastTest) string {
	if lt == nil {
		return "not tested"
	}
	return lt.Report.Short() + ", " + lt.At().Local().Format("2006-01-02 15:04")
}

func summaryJSON(sum vault.Summary, lt *almtest.LastTest) tenantJSON {
	if sum.Err != nil {
		return tenantJSON{keyJSON: keyJSON{Tenant: sum.Tenant}, ErrorCode: errorCode(sum.Err), Error: sum.Err.Error()}
	}
	t := tenantJSON{keyJSON: newKeyJSON(sum)}
	if lt != nil {
		t.LastTest = &lastTestJSON{Result: lt.Report.Code(), OK: lt.Report.OK, At: lt.At().UTC()}
	}
	return t
}

// allJSON is test --all --json.
type allJSON struct {
	OK        bool              `json:"ok"`
	Tenants   []json.RawMessage `json:"tenants"`
	Summary   allSummary        `json:"summary"`
	ErrorCode string            `json:"error_code,omitempty"`
	Error     string            `json:"error,omitempty"`
}

type allSummary struct {
	Tested        int      `json:"tested"`
	OK            int      `json:"ok"`
	Failed        int      `json:"failed"`
	FailedTenants []string `json:"failed_tenants"`
}

// tenantTest is one tenant's part of test --all: a report, or why there is
// none (its key could not be read).
type tenantTest struct {
	sum vault.Summary
	st  *vault.Stored
	rep *almtest.Report
	err error
}

func (tt *tenantTest) ok() bool { return tt.err == nil && tt.rep != nil && tt.rep.OK }

// testAll is test --all: every tenant's logon, allInFlight at a time, a
// line per tenant in name order as soon as it and those before it are done,
// then a summary; exit status 1 if any tenant fails.
func (a *app) testAll(ctx context.Context, c *command, s *vault.Store, timeout time.Duration, asJSON bool) int {
	sums, err := s.List(ctx)
	if err != nil {
		msg, code := keychainError(err, timeout, "")
		if asJSON {
			a.writeJSON(allJSON{Tenants: []json.RawMessage{}, Summary: allSummary{FailedTenants: []string{}}, ErrorCode: errorCode(err), Error: msg})
		}
		a.errorf(c, "%s", msg)
		return code
	}
	if len(sums) == 0 {
		msg, code := keychainError(vault.ErrNotFound, timeout, "")
		if asJSON {
			a.writeJSON(allJSON{Tenants: []json.RawMessage{}, Summary: allSummary{FailedTenants: []string{}}, ErrorCode: "not_stored", Error: msg})
		}
		a.errorf(c, "%s", msg)
		return code
	}
	if !asJSON {
		fmt.Fprintf(a.stdout, "Testing the service keys of %d %s, %d at a time...\n", len(sums), plural(len(sums), "tenant", "tenants"), min(allInFlight, len(sums)))
	}
	results := make([]tenantTest, len(sums))
	done := make([]chan struct{}, len(sums))
	for i := range done {
		done[i] = make(chan struct{})
	}
	slots := make(chan struct{}, allInFlight)
	var wg sync.WaitGroup
	for i, sum := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] = a.testOne(ctx, s, sum, timeout)
		}()
	}
	var sum allSummary
	sum.FailedTenants = []string{}
	for i := range results {
		<-done[i]
		r := &results[i]
		sum.Tested++
		if r.ok() {
			sum.OK++
		} else {
			sum.Failed++
			sum.FailedTenants = append(sum.FailedTenants, r.sum.Tenant)
		}
		if !asJSON {
			a.writeTenantLine(a.stdout, r, timeout)
		}
	}
	wg.Wait()
	var tests []almtest.LastTest
	for _, r := range results {
		if r.rep != nil {
			tests = append(tests, almtest.NewLastTest(r.st, r.rep))
		}
	}
	if !errors.Is(a.ctx.Err(), context.Canceled) && len(tests) > 0 {
		a.record(ctx, c, tests...)
	}
	if asJSON {
		out := allJSON{OK: sum.Failed == 0, Summary: sum}
		for i := range results {
			out.Tenants = append(out.Tenants, tenantReportJSON(&results[i], timeout))
		}
		a.writeJSON(out)
	} else {
		line := fmt.Sprintf("%d %s tested: %d %s", sum.Tested, plural(sum.Tested, "tenant", "tenants"), sum.OK, plural(sum.OK, "works", "work"))
		if sum.Failed > 0 {
			names := ""
			for i, n := range sum.FailedTenants {
				if i > 0 {
					names += ", "
				}
				names += vault.Printable(n)
			}
			line += fmt.Sprintf(", %d %s (%s)", sum.Failed, plural(sum.Failed, "fails", "fail"), names)
		}
		fmt.Fprintln(a.stdout, line+".")
	}
	if sum.Failed > 0 {
		return exitNo
	}
	return exitOK
}

// testOne loads a tenant's key and logs on with it.
func (a *app) testOne(ctx context.Context, s *vault.Store, sum vault.Summary, timeout time.Duration) tenantTest {
	r := tenantTest{sum: sum}
	if sum.Err != nil {
		r.err = sum.Err
		return r
	}
	r.st, r.err = s.Load(ctx, sum.Tenant)
	if r.err != nil {
		return r
	}
	r.rep = a.logon(ctx, r.st.Key, timeout)
	return r
}

// writeTenantLine is test --all's line for one tenant: a status word, the
// tenant and its credential type, the outcome and, on trouble, the first
// step in trouble and what to do.
func (a *app) writeTenantLine(w io.Writer, r *tenantTest, timeout time.Duration) {
	name := vault.Printable(r.sum.Tenant)
	if r.err != nil {
		msg, _ := keychainError(r.err, timeout, r.sum.Tenant)
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
	line := fmt.Sprintf("%s  %s (%s): %s", word, name, r.st.Key.CredentialType, r.rep.Short())
	if step := r.rep.FirstTrouble(); step != nil {
		line += "; " + step.String()
		if step.Hint != "" {
			line += "\n      What to do: " + step.Hint
		}
	} else {
		line += fmt.Sprintf(" (%d ms)", r.rep.Duration.Milliseconds())
	}
	fmt.Fprintln(w, line)
}

// tenantReportJSON is one tenant's object in test --all --json: "tenant",
// then its test --json report's fields in their order, or the shape of
// testErrorJSON when its key could not be read.
func tenantReportJSON(r *tenantTest, timeout time.Duration) json.RawMessage {
	var body any = r.rep
	if r.err != nil {
		msg, _ := keychainError(r.err, timeout, r.sum.Tenant)
		body = testErrorJSON{Steps: []struct{}{}, ErrorCode: errorCode(r.err), Error: msg}
	}
	name, err := json.Marshal(r.sum.Tenant)
	if err == nil {
		var fields []byte
		if fields, err = json.Marshal(body); err == nil && len(fields) > 2 && fields[0] == '{' {
			// {"tenant":...,  and the object's own members after it.
			return json.RawMessage(append(append([]byte(`{"tenant":`), name...), append([]byte{','}, fields[1:]...)...))
		}
	}
	panic(fmt.Sprintf("test --all: a report does not marshal: %v", err)) // our own plain types always do
}
