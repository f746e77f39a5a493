package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/vault"
)

var checkCmd = &command{
	name:    "check",
	usage:   "check FILE|- [--timeout D]",
	summary: "format check only (- reads stdin)",
	help: `Runs the format check on a service key file without storing it. Each
problem goes to stderr on its own line, starting with the field's JSON path
(uaa.clientsecret: missing), then the warnings. Accepts the BTP cockpit's
download or copied JSON, 'cf service-key' output and cf v8's
{"credentials": ...} form. Exit status 0 when the key is valid, 1 when not,
also when the input has not all arrived within --timeout (a FIFO or stdin
that nothing writes to, or that never ends).`,
	example: `  calmkeyctl check ~/Downloads/cloudalm-key.txt
  cf service-key calm-api calm-key | calmkeyctl check -`,
	run: runCheck,
}

var uploadCmd = &command{
	name:    "upload",
	usage:   "upload FILE|- [--timeout D]",
	summary: "format check, then store under the key's tenant",
	help: `Runs the format check and, when the key is valid, stores it in the keychain
under its tenant (uaa.identityzone). One key is kept per tenant: when the
key's tenant has one already, the upload is refused (exit status 1, "tenant
X already has a service key: delete it first"). To rotate a key, use
'calmkeyctl replace FILE': it tests the new key, then swaps it in with no
moment without a key. Of several uploads of one tenant's keys at
once (from calmkeyctl or the desktop app) exactly one stores its key.

--timeout bounds reading the input and storing. An upload that times out
stores nothing (exit status 3): a keychain write that runs past --timeout is
waited for up to 5s more and undone; if the keychain has not answered even
then, the message says so and what to do. Exit status 4 when another
calmkey was changing the key all that time.

Upload the key that managed services use regularly (for example for
monitoring). Keys for API calls such as the SAP Cloud ALM Analytics API, and
"one-use" keys made for a single managed service, do not belong here.`,
	example: `  calmkeyctl upload ~/Downloads/cloudalm-key.txt
  cf service-key calm-api calm-key | calmkeyctl upload -`,
	run: runUpload,
}

var statusCmd = &command{
	name:    "status",
	usage:   "status [--tenant NAME] [--json]",
	summary: "a tenant's key: region, client id, type, ...",
	help: `Shows the tenant's stored key: tenant, region, client id, credential type,
API endpoint, token URL, when it was uploaded and, for x509 keys, when the
certificate expires. Never shows a secret. --tenant may be left out when one
tenant has a key; with several, exit status 2 lists them. Exit status 1
when no key is stored (for the tenant). With --json, prints one JSON object
with "stored" (bool) and, on failure, "error_code" (not_stored, corrupt,
tenant_required with "tenants", keychain_unavailable, keychain_timeout,
keychain_busy) and "error".

The key lives in the keychain under the service name "calmkey", or the value
of CALMKEY_KEYCHAIN_SERVICE when that is set (the desktop app honours it too).`,
	example: `  calmkeyctl status
  calmkeyctl status --tenant acme-prod --json | jq -r .cert_expiry`,
	run: runStatus,
}

var showCmd = &command{
	name:    "show",
	usage:   "show [--tenant NAME] [--reveal]",
	summary: "a tenant's key as JSON; secrets masked",
	help: `Prints the tenant's stored key as JSON (--tenant as for status).
uaa.clientsecret and uaa.key are masked unless
you add --reveal; with --reveal the output holds the secret, so do not paste it
into tickets or chats.`,
	example: `  calmkeyctl show
  calmkeyctl show --tenant acme-prod --reveal | jq -r .uaa.clientid`,
	run: runShow,
}

var downloadCmd = &command{
	name:    "download",
	usage:   "download FILE [--tenant NAME] [--force]",
	summary: "a tenant's key as uploaded, mode 0600",
	help: `Writes the tenant's stored key (--tenant as for status) to FILE byte for
byte as it was uploaded (for a key that
came wrapped in cf output, the key object's own text), readable by you only
(mode 0600). An existing FILE is not overwritten (exit status 1) unless you add
--force, which replaces it as a whole. FILE - writes to stdout. The file holds
the secret: delete it when you no longer need it.`,
	example: `  calmkeyctl download cloudalm-key.txt
  calmkeyctl download acme-prod-key.txt --tenant acme-prod --force`,
	run: runDownload,
}

var deleteCmd = &command{
	name:    "delete",
	usage:   "delete [--tenant NAME] [--yes]",
	summary: "remove a tenant's key (asks on a terminal)",
	help: `Removes the tenant's stored key from the keychain (--tenant as for status);
the other tenants' keys stay as they are. On a terminal it asks first; in a
script (stdin not a terminal) it needs --yes and otherwise stops with exit
status 2. Answering no exits with 1. Delete the key here too when you delete
it or its service instance in the ` + vault.CockpitPath + `: it can no
longer log on. Without --tenant it also removes a damaged key stored by an
earlier calmkey, whose tenant cannot be read.`,
	example: `  calmkeyctl delete
  calmkeyctl delete --tenant acme-prod --yes`,
	run: runDelete,
}

var testCmd = &command{
	name:    "test",
	usage:   "test [--tenant NAME | --all] [--proxy URL|direct|system] [--json] [--timeout D]",
	summary: "log on with a tenant's key, or every tenant's",
	help: `Logs on with the tenant's stored key (--tenant as for status): requests a
token from the key's XSUAA, then calls the SAP Cloud ALM API with it, and
reports each step with its outcome, time, HTTP status and, on trouble, a
hint. Exit status 0 when logon works (also when the API answers 403 for a
key without the projects read scope), 1 when it does not, including a
timeout. --timeout bounds the whole command, keychain included. With
--json, prints one JSON object: "ok" (bool) and "steps", each with "id"
(token, api), "status" (ok, warn, fail, skipped), "ms", "http_status" when
there was one, "detail", "hint" and "route" (how the step's connection went
out: "kind" direct or proxy, "proxy" host:port, "source", "note", "text").
The result is kept as the tenant's last test, which 'calmkeyctl list' shows.

--all tests every tenant's key, ` + strconv.Itoa(almtest.TestsAtOnce) + ` at a time, prints a line per tenant in
name order, then a summary, and exits 1 if any tenant's logon fails. With
--json: one object with "ok" (every tenant works), "tenants" (a test --json
report per tenant, with "tenant"; "error_code" and "error" for a key that
could not be read) and "summary" ("tested", "ok", "failed",
"failed_tenants"). This is the nightly check for many tenants.

Proxies: HTTPS_PROXY and NO_PROXY come first; on Windows, then the user's
proxy settings (PAC script and auto-detect included) and the machine-wide
WinHTTP proxy. The proxy may ask for Basic (user:password@ in the proxy URL)
or, on Windows, Negotiate as the logged-in user. --proxy overrides all of
that: a proxy URL, direct, or system (the system's settings without the
environment). 'calmkeyctl proxy' shows each host's route and why. Behind a
TLS-inspecting proxy, point SSL_CERT_FILE at a PEM file with its CA.`,
	example: `  calmkeyctl test
  calmkeyctl test --tenant acme-prod --json --timeout 10s | jq .ok
  calmkeyctl test --all --timeout 2m || echo "a tenant's key no longer logs on"
  calmkeyctl test --proxy http://proxy.corp.example:8080`,
	run: runTest,
}

var versionCmd = &command{
	name:    "version",
	usage:   "version",
	summary: "print the version",
	help:    `Prints calmkeyctl's version.`,
	example: `  calmkeyctl version`,
	run:     runVersion,
}

// readInput reads FILE, or stdin for "-", with vault.ReadKeyFile: under
// the size cap, and giving up when the command's time ends (a FIFO that no
// one opens, stdin that never ends).
func (inv *invocation) readInput(name string) (data []byte, fileName string, err error) {
	data, err = vault.ReadKeyFile(inv.ctx, func() (io.ReadCloser, error) {
		if name == "-" {
			return io.NopCloser(inv.stdin), nil
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, worded{fileError(err, name)}
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, worded{fmt.Errorf("%s is a folder; give the service key file inside it", displayName(name))}
		}
		return f, nil
	})
	var w worded
	switch {
	case errors.Is(err, context.Canceled):
		return nil, "", errors.New("interrupted")
	case errors.Is(err, context.DeadlineExceeded):
		return nil, "", fmt.Errorf("the key did not arrive whole from %s within --timeout %s; check that something writes the key to it and ends, or allow more time with a longer --timeout", displayName(name), inv.timeout)
	case errors.As(err, &w):
		return nil, "", w.error
	case err != nil:
		return nil, "", fmt.Errorf("cannot read %s: %v", displayName(name), unwrapPath(err))
	}
	if name != "-" {
		fileName = filepath.Base(name)
	}
	return data, fileName, nil
}

// worded is an error whose text already says what happened to whom.
type worded struct{ error }

// displayName is a FILE argument as messages show it, safe to print.
func displayName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return vault.Printable(name)
}

// fileError says what went wrong with a file and what to do, without the
// "open NAME:" prefix that os adds.
func fileError(err error, name string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist; check the path", displayName(name))
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s cannot be read: permission denied", displayName(name))
	default:
		return fmt.Errorf("cannot open %s: %v", displayName(name), unwrapPath(err))
	}
}

// unwrapPath is the OS's reason without the "open NAME:" prefix that os
// adds, and without the period Windows ends it with ("Path not found."):
// the messages here go on after it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return osReason{err}
}

type osReason struct{ error }

func (r osReason) Error() string { return strings.TrimSuffix(r.error.Error(), ".") }
func (r osReason) Unwrap() error { return r.error }

// parseInput reads and checks a key, printing problems and warnings to
// stderr. key is nil when the input is not a valid key.
func (inv *invocation) parseInput(name string) (key *vault.Key, fileName string, code int) {
	data, fileName, err := inv.readInput(name)
	if err != nil {
		inv.errorf("%v", err)
		return nil, "", exitNo
	}
	key, err = vault.Parse(data)
	var fe *vault.FormatError
	switch {
	case err == nil:
		inv.printWarnings(key.Warnings)
		return key, fileName, exitOK
	case errors.As(err, &fe):
		for _, p := range fe.Problems {
			fmt.Fprintln(inv.stderr, vault.Printable(p.String()))
		}
		inv.printWarnings(fe.Warnings)
		n := len(fe.Problems)
		inv.errorf("%s is not a valid SAP Cloud ALM service key (%d %s). Download the key again from the %s (Download) and check that it is the whole file.",
			displayName(name), n, plural(n, "problem", "problems"), vault.CockpitPath)
		return nil, "", exitNo
	default:
		inv.errorf("%v", err)
		return nil, "", exitNo
	}
}

func (a *app) printWarnings(ws []vault.Finding) {
	for _, w := range ws {
		if w.Path == "" {
			fmt.Fprintf(a.stderr, "warning: %s\n", vault.Printable(w.Message))
		} else {
			fmt.Fprintf(a.stderr, "%s: warning: %s\n", vault.Printable(w.Path), vault.Printable(w.Message))
		}
	}
}

// warningsNote points the success line at the warnings printed to stderr,
// so that they are not missed beside it.
func warningsNote(ws []vault.Finding) string {
	if len(ws) == 0 {
		return ""
	}
	return fmt.Sprintf(", but with %d %s on stderr: read %s", len(ws), plural(len(ws), "warning", "warnings"), plural(len(ws), "it", "them"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func runCheck(a *app, c *command, args []string) int {
	inv, pos, code := a.begin(c, c.flags(), args, shared{minArgs: 1, maxArgs: 1})
	if inv == nil {
		return code
	}
	defer inv.end()
	key, _, code := inv.parseInput(pos[0])
	if key == nil {
		return code
	}
	fmt.Fprintf(inv.stdout, "%s is a valid service key%s.\n", displayName(pos[0]), warningsNote(key.Warnings))
	writeFacts(inv.stdout, &vault.Stored{Key: key}, false)
	return exitOK
}

func runUpload(a *app, c *command, args []string) int {
	inv, pos, code := a.begin(c, c.flags(), args, shared{minArgs: 1, maxArgs: 1})
	if inv == nil {
		return code
	}
	defer inv.end()
	// One deadline for reading and storing.
	key, fileName, code := inv.parseInput(pos[0])
	if key == nil {
		return code
	}
	if err := inv.store.Save(inv.ctx, key, fileName); err != nil {
		return inv.fail(err, key.Tenant)
	}
	fmt.Fprintf(inv.stdout, "Stored the service key for tenant %s (%s) in the keychain%s.\n", vault.Printable(orUnknown(key.Tenant)), key.CredentialType, warningsNote(key.Warnings))
	return exitOK
}

func orUnknown(s string) string {
	if s == "" {
		return vault.Unknown
	}
	return s
}

// writeFacts prints the key-facts form (vault.Facts), one fact a line;
// uploaded says whether the key was stored (check's was not).
func writeFacts(w io.Writer, st *vault.Stored, uploaded bool) {
	for _, f := range vault.Facts(st.Summary(), time.Now()) {
		if f.ID == vault.FactUploaded && !uploaded {
			continue
		}
		fmt.Fprintf(w, "%-20s %s\n", f.Label+":", f.Value)
	}
}

// statusJSON is status --json. Field names are a contract for scripts.
type statusJSON struct {
	Stored  bool   `json:"stored"`
	Service string `json:"service"`
	keyJSON
	Warnings  []vault.Finding `json:"warnings,omitempty"`
	ErrorCode string          `json:"error_code,omitempty"`
	Error     string          `json:"error,omitempty"`
	Tenants   []string        `json:"tenants,omitempty"` // with tenant_required
}

// keyJSON are a stored key's facts in status --json and list --json.
type keyJSON struct {
	Tenant                 string     `json:"tenant,omitempty"`
	Region                 string     `json:"region,omitempty"`
	ClientID               string     `json:"client_id,omitempty"`
	CredentialType         string     `json:"credential_type,omitempty"`
	CredentialTypeDeclared *bool      `json:"credential_type_declared,omitempty"`
	APIEndpoint            string     `json:"api_endpoint,omitempty"`
	TokenURL               string     `json:"token_url,omitempty"`
	UploadedAt             *time.Time `json:"uploaded_at,omitempty"`
	FileName               string     `json:"file_name,omitempty"`
	CertExpiry             *time.Time `json:"cert_expiry,omitempty"`
	// TenantNameError says why the tenant is not a valid tenant name (a
	// key stored by an earlier calmkey under a look-alike name).
	TenantNameError string `json:"tenant_name_error,omitempty"`
	// LastReplacement is the replace that put this key in, if one did.
	LastReplacement *replacedJSON `json:"last_replacement,omitempty"`
}

func newKeyJSON(sum vault.Summary) keyJSON {
	up := sum.UploadedAt.UTC()
	declared := sum.Declared
	k := keyJSON{
		Tenant: sum.Tenant, Region: sum.Region, ClientID: sum.ClientID,
		CredentialType: string(sum.CredentialType), CredentialTypeDeclared: &declared,
		APIEndpoint: sum.APIEndpoint, TokenURL: sum.TokenURL, UploadedAt: &up, FileName: sum.FileName,
		TenantNameError: nameProblem(sum.Tenant),
	}
	if !sum.CertExpiry.IsZero() {
		exp := sum.CertExpiry.UTC()
		k.CertExpiry = &exp
	}
	return k
}

// nameProblem is vault.TenantNameError's text for tenant, "" for a valid
// name.
func nameProblem(tenant string) string {
	if err := vault.TenantNameError(tenant); err != nil {
		return err.Error()
	}
	return ""
}

// nameWarning is the warning status and list give for a key stored under a
// name that is not a valid tenant name.
func nameWarning(tenant string) string {
	return fmt.Sprintf("%s. An earlier calmkey stored this key under that name; it may imitate another tenant's name. Check the key in the %s, and delete it here with 'calmkeyctl delete%s' if it is not the tenant's.",
		nameProblem(tenant), vault.CockpitPath, tenantArg(tenant))
}

func (a *app) writeJSON(v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// Only our own plain structs are marshalled here.
		panic(err)
	}
	a.stdout.Write(append(b, '\n'))
}

func runStatus(a *app, c *command, args []string) int {
	inv, _, code := a.begin(c, c.flags(), args, shared{json: true, tenant: true})
	if inv == nil {
		return code
	}
	defer inv.end()
	inv.jsonErr = func(errCode, msg string, tenants []string) any {
		return statusJSON{Service: a.service(), ErrorCode: errCode, Error: msg, Tenants: tenants}
	}
	st, code := inv.loadStored()
	if st == nil {
		return code
	}
	key := st.Key
	replaced := inv.lastReplacements().Last(st.Summary())
	if inv.asJSON {
		kj := newKeyJSON(st.Summary())
		kj.LastReplacement = newReplacedJSON(replaced)
		inv.writeJSON(statusJSON{Stored: true, Service: a.service(), keyJSON: kj, Warnings: key.Warnings})
		return exitOK
	}
	fmt.Fprintf(inv.stdout, "A service key is stored for tenant %s (keychain service %q).\n", vault.Printable(key.Tenant), a.service())
	writeFacts(inv.stdout, st, true)
	if replaced != nil {
		fmt.Fprintf(inv.stdout, "%-20s %s\n", "Replaced:", replacedText(replaced))
	}
	badName := nameProblem(key.Tenant) != ""
	if badName {
		fmt.Fprintf(inv.stdout, "Warning: %s\n", nameWarning(key.Tenant))
	}
	for _, w := range key.Warnings {
		// The format check's warning on the name says less than the above.
		if !(badName && strings.HasSuffix(w.Path, "uaa.identityzone")) {
			fmt.Fprintf(inv.stdout, "Warning: %s\n", vault.Printable(w.String()))
		}
	}
	return exitOK
}

func runShow(a *app, c *command, args []string) int {
	fl := c.flags()
	reveal := fl.Bool("reveal", false, "show uaa.clientsecret and uaa.key instead of a mask")
	inv, _, code := a.begin(c, fl, args, shared{tenant: true})
	if inv == nil {
		return code
	}
	defer inv.end()
	st, code := inv.loadStored()
	if st == nil {
		return code
	}
	out := st.Key.JSON(*reveal)
	if len(out) == 0 || out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	inv.stdout.Write(out)
	return exitOK
}

func runDownload(a *app, c *command, args []string) int {
	fl := c.flags()
	force := fl.Bool("force", false, "replace FILE when it exists")
	inv, pos, code := a.begin(c, fl, args, shared{tenant: true, minArgs: 1, maxArgs: 1})
	if inv == nil {
		return code
	}
	defer inv.end()
	name := pos[0]
	// Refuse before touching the keychain; privfile's O_EXCL create is what
	// guards against a file appearing meanwhile.
	if name != "-" && !*force {
		if _, err := os.Lstat(name); err == nil {
			return inv.refuseOverwrite(name)
		}
	}
	st, code := inv.loadStored()
	if st == nil {
		return code
	}
	data := st.Key.Bytes()
	if name == "-" {
		inv.stdout.Write(data)
		return exitOK
	}
	var err error
	if *force {
		err = privfile.Replace(name, data) // whole at every moment; a symlink is replaced, not followed
	} else {
		err = privfile.WriteNew(name, data) // 0600; on Windows, a DACL for you alone
		if errors.Is(err, fs.ErrExist) {
			return inv.refuseOverwrite(name)
		}
	}
	if err != nil {
		inv.errorf("cannot write %s: %v. Nothing was written; choose a folder you can write to.", displayName(name), unwrapPath(err))
		return exitNo
	}
	fmt.Fprintf(inv.stdout, "Wrote the service key of tenant %s to %s (readable by you only). It holds the secret: delete it when you no longer need it.\n", vault.Printable(st.Key.Tenant), displayName(name))
	return exitOK
}

func (inv *invocation) refuseOverwrite(name string) int {
	inv.errorf("%s exists and was left as it is. Choose another file name, or add --force to replace it.", displayName(name))
	return exitNo
}

func runDelete(a *app, c *command, args []string) int {
	fl := c.flags()
	yes := fl.Bool("yes", false, "delete without asking")
	inv, _, code := a.begin(c, fl, args, shared{tenant: true})
	if inv == nil {
		return code
	}
	defer inv.end()
	if !*yes && !a.env.terminal {
		return inv.usageError("stdin is not a terminal, so there is no one to ask: add --yes to delete the stored key")
	}
	target, code, ok, damaged := inv.deleteTarget()
	if !ok {
		return code
	}
	var asked *vault.Stored // the key the user agreed to delete
	if !*yes {
		if asked, code, ok = inv.confirmDelete(target, damaged); !ok {
			return code
		}
		// The keychain gets its --timeout from the answer on: a slow answer
		// is the user's time, not the keychain's.
		inv.restart()
	}
	return inv.deleteKey(target, asked)
}

// deleteTarget is the tenant delete acts on (see pickTenant), or "" and
// damaged when the keychain holds what calmkey cannot read, which
// Delete(ctx, "") removes.
func (inv *invocation) deleteTarget() (target string, code int, ok bool, damaged error) {
	if inv.named != "" {
		return inv.named, exitOK, true, nil
	}
	sums, err := inv.store.List(inv.ctx)
	if errors.Is(err, vault.ErrCorrupt) {
		return "", exitOK, true, err
	}
	target, code, ok = inv.chooseTenant(sums, err)
	return target, code, ok, nil
}

// confirmDelete asks on the terminal whether to delete target's key (or
// what cannot be read, when damaged). ok is true for yes; asked is the key
// the user agreed to delete, nil when it could not be read.
func (inv *invocation) confirmDelete(target string, damaged error) (asked *vault.Stored, code int, ok bool) {
	var what string
	if damaged != nil {
		fmt.Fprintf(inv.stderr, "%s.\n", capitalize(damaged.Error()))
		what = "what cannot be read"
	} else {
		st, err := inv.store.Load(inv.ctx, target)
		switch {
		case err == nil:
			asked = st
			what = fmt.Sprintf("the service key of tenant %s (%s)", vault.Printable(target), st.Key.CredentialType)
		case errors.Is(err, vault.ErrCorrupt):
			what = fmt.Sprintf("the damaged service key of tenant %s", vault.Printable(target))
		default:
			return nil, inv.fail(err, inv.named), false
		}
	}
	fmt.Fprintf(inv.stderr, "Delete %s from the keychain? This cannot be undone. [y/N] ", what)
	answer, _ := bufio.NewReader(inv.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return asked, exitOK, true
	}
	fmt.Fprintln(inv.stderr, "Not deleted.")
	return nil, exitNo, false
}

// deleteKey deletes target's key ("": what cannot be read) and its last
// test. After a question, only the key asked about is deleted: one that
// another program stored in its place meanwhile stays.
func (inv *invocation) deleteKey(target string, asked *vault.Stored) int {
	var err error
	if asked != nil {
		err = inv.store.DeleteIf(inv.ctx, target, asked.Identity())
	} else {
		err = inv.store.Delete(inv.ctx, target)
	}
	if errors.Is(err, vault.ErrChanged) {
		inv.errorf("%v. Run delete again to delete the key stored now.", err)
		return exitNo
	}
	if err != nil {
		return inv.fail(err, inv.named)
	}
	if target == "" {
		fmt.Fprintln(inv.stdout, "Deleted what could not be read from the keychain.")
		return exitOK
	}
	fmt.Fprintf(inv.stdout, "Deleted the service key of tenant %s from the keychain.\n", vault.Printable(target))
	// A failure here changes nothing stored, and is said.
	inv.forget(target)
	return exitOK
}

// testErrorJSON is test --json when no run could start; it has the shape of
// a report so that scripts can always read .ok and .steps.
type testErrorJSON struct {
	OK        bool       `json:"ok"`
	Steps     []struct{} `json:"steps"`
	ErrorCode string     `json:"error_code"`
	Error     string     `json:"error"`
	Tenants   []string   `json:"tenants,omitempty"` // with tenant_required
}

func runTest(a *app, c *command, args []string) int {
	fl := c.flags()
	all := fl.Bool("all", false, fmt.Sprintf("test every tenant's key, %d at a time", almtest.TestsAtOnce))
	proxy := proxyFlag(fl)
	inv, _, code := a.begin(c, fl, args, shared{json: true, tenant: true})
	if inv == nil {
		return code
	}
	defer inv.end()
	if code, ok := a.checkProxyFlag(c, fl, *proxy); !ok {
		return code
	}
	inv.proxy = *proxy
	switch {
	case *all && inv.named != "":
		return inv.usageError("--all tests every tenant: leave out --tenant, or --all")
	case *all:
		return inv.testAll()
	}
	return inv.testTenant()
}

// testTenant is test without --all: one tenant's logon, its report, and
// the report kept as the tenant's last test.
func (inv *invocation) testTenant() int {
	inv.jsonErr = func(errCode, msg string, tenants []string) any {
		return testErrorJSON{Steps: []struct{}{}, ErrorCode: errCode, Error: msg, Tenants: tenants}
	}
	ctx, cancel := inv.logonContext()
	defer cancel()
	st, code := inv.loadStored()
	if st == nil {
		return code
	}
	if !inv.asJSON {
		fmt.Fprintf(inv.stdout, "Testing the service key of tenant %s (%s)...\n", vault.Printable(st.Key.Tenant), st.Key.CredentialType)
	}
	rep := inv.logon(ctx, st.Key)
	if inv.asJSON {
		inv.writeJSON(rep)
	} else {
		s := rep.String()
		fmt.Fprint(inv.stdout, s)
		if !strings.HasSuffix(s, "\n") {
			fmt.Fprintln(inv.stdout)
		}
	}
	switch {
	case rep.OK:
	case inv.interrupted():
		inv.errorf("interrupted.")
	case rep.KeyRejected:
		inv.errorf("the key was rejected. To delete it here too, run 'calmkeyctl delete%s'.", tenantArg(st.Key.Tenant))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		inv.errorf("the logon did not finish within --timeout %s. Try again, or allow more time with a longer --timeout.", inv.timeout)
	}
	if !inv.interrupted() {
		inv.record(almtest.NewLastTest(st, rep))
	}
	if !rep.OK {
		return exitNo
	}
	return exitOK
}

// interrupted reports whether the user interrupted the command (Ctrl-C).
func (inv *invocation) interrupted() bool {
	return errors.Is(inv.app.ctx.Err(), context.Canceled)
}

// logon runs the logon test with key, bounded by ctx (logonContext).
func (inv *invocation) logon(ctx context.Context, key *vault.Key) *almtest.Report {
	// ctx's deadline bounds the run (almtest.Run honours it). Timeout is the
	// whole --timeout, later than that deadline, so that the run has no
	// timer of its own: one computed from the time left could fall on the
	// same instant as ctx's (Windows' clock is coarse), fire first, and end
	// the run while ctx.Err() is still nil, which hid "did not finish
	// within --timeout" under Wine.
	return almtest.Run(ctx, key, almtest.Options{Timeout: max(inv.timeout, time.Millisecond), RootCAs: inv.env.rootCAs, Proxy: inv.proxy})
}

func runVersion(a *app, c *command, args []string) int {
	fl := c.flags()
	if _, code, done := a.parse(c, fl, args, 0, 0); done {
		return code
	}
	if commit == "" {
		fmt.Fprintf(a.stdout, "calmkeyctl %s\n", version)
	} else {
		fmt.Fprintf(a.stdout, "calmkeyctl %s (commit %s)\n", version, commit)
	}
	return exitOK
}
