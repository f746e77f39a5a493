package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/calmkey/calmkey/vault"
)

// Exit statuses: the contract of issue 5, relied on by scripts.
const (
	exitOK          = 0 // valid, stored, deleted, logon works
	exitNo          = 1 // a negative answer
	exitUsage       = 2 // no command, unknown command or flag, missing argument
	exitUnavailable = 3 // the keychain cannot be reached or did not answer in time
	exitBusy        = 4 // another calmkey held the keychain lock: try again
)

// ServiceEnv overrides the keychain service name (vault.ServiceFromEnv).
const ServiceEnv = vault.ServiceEnv

// defaultTimeout bounds a whole command unless --timeout says otherwise.
const defaultTimeout = 30 * time.Second

// env is what run takes from the process, so tests can run it in-process.
type env struct {
	getenv   func(string) string
	terminal bool // stdin is a terminal: delete may ask

	// For in-process tests; zero values mean the real thing.
	backend    vault.Backend  // nil: the OS keychain
	rootCAs    *x509.CertPool // nil: system roots (honouring SSL_CERT_FILE)
	lockDir    string         // "": the keychain lock in the user's cache folder
	historyDir string         // "": the last tests in the user's config folder
}

// checkedWriter keeps the first error of the writes to it, and writes
// nothing more after one.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

type app struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	env            env
}

// command is one subcommand. usage is the synopsis after "calmkeyctl".
type command struct {
	name    string
	usage   string
	summary string
	help    string // the rest of --help: what it does, flags come after, then this
	example string
	run     func(a *app, cmd *command, args []string) int
}

// commands in the order usage lists them.
var commands = []*command{
	checkCmd, uploadCmd, replaceCmd, listCmd, statusCmd, showCmd, downloadCmd, deleteCmd, testCmd, proxyCmd, versionCmd,
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, e env) (code int) {
	// A panic would exit with 2, which scripts read as a usage error. Values
	// we panic with never hold a secret; the stack holds only addresses.
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "calmkeyctl: internal error, please report it: %v\n%s", p, debug.Stack())
			code = exitNo
		}
	}()
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	out := &checkedWriter{w: stdout}
	a := &app{ctx: ctx, stdin: stdin, stdout: out, stderr: stderr, env: e}
	// Whatever a command printed, output that did not arrive (a full disk,
	// a closed pipe) is a failure: a script must not take exit 0 for a
	// key it never got.
	defer func() {
		if out.err != nil && code == exitOK {
			fmt.Fprintf(stderr, "calmkeyctl: cannot write the output: %v\n", unwrapPath(out.err))
			code = exitNo
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(stderr, "calmkeyctl: no command given.\n\n")
		a.usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			c := lookup(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "calmkeyctl help: unknown command %q; run 'calmkeyctl help' for the list.\n", args[1])
				return exitUsage
			}
			// The command registers its flags, so let it print its help.
			return c.run(a, c, []string{"--help"})
		}
		a.usage(stdout)
		return exitOK
	case "-version", "--version":
		args = []string{"version"}
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "calmkeyctl: unknown command %q.\n\n", args[0])
		a.usage(stderr)
		return exitUsage
	}
	return c.run(a, c, args[1:])
}

func (a *app) usage(w io.Writer) {
	fmt.Fprint(w, `calmkeyctl keeps your SAP Cloud ALM service keys, one per tenant, in the
operating system's keychain, shared with the calmkey desktop app.

Usage:
  calmkeyctl COMMAND [ARGS] [FLAGS]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-44s %s\n", c.usage, c.summary)
	}
	fmt.Fprintf(w, `
Run 'calmkeyctl COMMAND --help' for a command's flags and an example.
The key commands (status, show, download, delete, test) take --tenant NAME;
with one tenant's key stored it may be left out. 'calmkeyctl list' shows
the tenants.
Every command but version accepts --timeout D (a Go duration, default %s)
that bounds the whole command: reading the key file or stdin, and the
keychain. A write to the keychain that runs past it is waited for up to
%s more and undone, so a timed-out upload stores nothing.

Exit status:
  0  success: valid, stored, deleted, logon works
  1  a negative answer: invalid file, the tenant already has a key, no key
     is stored (for the tenant), logon fails (also on a network timeout;
     with test --all: for any tenant), download refused because the file
     exists, delete declined
  2  usage error: no command, an unknown one, a missing argument; several
     tenants have a key and --tenant names none (they are listed)
  3  the OS keychain cannot be reached or did not answer in time
  4  another calmkey (the app, a script) was changing the key all that
     time; try again

Environment:
  %s  keychain service name (default %q); the desktop
                            app honours it too
  SSL_CERT_FILE             PEM file of CA certificates to trust for 'test', for
                            example a company proxy's CA
  HTTPS_PROXY, NO_PROXY     proxy for 'test'
  CALMKEY_LANG              the desktop app's language (de or en); calmkeyctl
                            always speaks English, for scripts and logs
`, defaultTimeout, vault.WriteGrace, ServiceEnv, vault.DefaultService)
}

// flags makes the command's FlagSet. Output is discarded: run reports parse
// errors itself, so --help goes to stdout and errors to stderr.
func (c *command) flags() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func (a *app) commandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: calmkeyctl %s\n\n%s\n", c.usage, strings.TrimSpace(c.help))
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", b.String())
	}
	fmt.Fprintf(w, "\nExample:\n%s\n", strings.TrimRight(c.example, "\n"))
}

// parse parses flags placed anywhere among the arguments (download FILE
// --force) and checks the count of positional arguments. done is true when
// run must return code (help or a usage error).
func (a *app) parse(c *command, fs *flag.FlagSet, args []string, minArgs, maxArgs int) (pos []string, code int, done bool) {
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		a.commandHelp(a.stdout, c, fs)
		return nil, exitOK, true
	}
	if err != nil {
		return nil, a.usageError(c, fs, "%v", err), true
	}
	switch {
	case len(pos) < minArgs:
		return nil, a.usageError(c, fs, "missing argument"), true
	case len(pos) > maxArgs:
		return nil, a.usageError(c, fs, "unexpected argument %q", pos[maxArgs]), true
	}
	return pos, exitOK, false
}

func (a *app) usageError(c *command, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(a.stderr, "calmkeyctl %s: %s.\n\n", c.name, fmt.Sprintf(format, args...))
	a.commandHelp(a.stderr, c, fs)
	return exitUsage
}

// parseInterleaved is fs.Parse that keeps going after a positional argument,
// because flag stops at the first one and users write flags last. "--" ends
// the flags; "-" is a positional argument (stdin).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// timeoutFlag adds --timeout to fs.
func timeoutFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("timeout", defaultTimeout, "bound the whole command, reading input and keychain calls included (a Go duration: 10s, 2m)")
}

// parseTimed is parse for a command that reads input or uses the keychain:
// it adds --timeout to fs and refuses a timeout that would fail every call.
func (a *app) parseTimed(c *command, fs *flag.FlagSet, args []string, minArgs, maxArgs int) (pos []string, timeout time.Duration, code int, done bool) {
	t := timeoutFlag(fs)
	pos, code, done = a.parse(c, fs, args, minArgs, maxArgs)
	if done {
		return nil, 0, code, true
	}
	if *t <= 0 {
		return nil, 0, a.usageError(c, fs, "--timeout must be positive"), true
	}
	return pos, *t, exitOK, false
}

// open opens the keychain store; its calls are bounded by timeout and by
// the context they are given.
func (a *app) open(timeout time.Duration) *vault.Store {
	return vault.Open(vault.Options{Backend: a.env.backend, Service: a.service(), Timeout: timeout, LockDir: a.env.lockDir})
}

func (a *app) service() string { return vault.ServiceFromEnv(a.env.getenv) }

func (a *app) errorf(c *command, format string, args ...any) {
	fmt.Fprintf(a.stderr, "calmkeyctl %s: %s\n", c.name, fmt.Sprintf(format, args...))
}

// errorCode names a keychain outcome for --json output.
func errorCode(err error) string {
	switch {
	case errors.Is(err, vault.ErrNotFound):
		return "not_stored"
	case errors.Is(err, vault.ErrCorrupt):
		return "corrupt"
	case errors.Is(err, vault.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "keychain_timeout"
	case errors.Is(err, vault.ErrBusy):
		return "keychain_busy"
	case errors.Is(err, vault.ErrUnavailable):
		return "keychain_unavailable"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	default:
		return "keychain_error"
	}
}

// keychainError reports a failed keychain call with what to do and returns
// the exit status: 3 when the keychain is out of reach or too slow, 4 when
// another calmkey held the keychain lock, else 1. tenant is the tenant the
// command was about, "" when none was named.
func keychainError(err error, timeout time.Duration, tenant string) (msg string, code int) {
	switch {
	case errors.Is(err, vault.ErrNotFound) && tenant == "":
		return "no service key is stored. Upload one with 'calmkeyctl upload FILE'.", exitNo
	case errors.Is(err, vault.ErrNotFound):
		return fmt.Sprintf("no service key is stored for tenant %s. 'calmkeyctl list' shows the tenants that have one.", vault.Printable(tenant)), exitNo
	case errors.Is(err, vault.ErrCorrupt):
		return fmt.Sprintf("%s: 'calmkeyctl delete%s --yes' deletes it.", err, tenantArg(tenant)), exitNo
	case errors.Is(err, vault.ErrAlreadyStored):
		return fmt.Sprintf("%s ('calmkeyctl delete%s'), then upload the new key; or swap it in with no gap: 'calmkeyctl replace FILE' tests the new key, then replaces the old one.", err, tenantArg(tenant)), exitNo
	case errors.Is(err, vault.ErrBusy):
		return "another calmkey (the desktop app, or another calmkeyctl) is changing the key; try again in a moment.", exitBusy
	case errors.Is(err, vault.ErrUnavailable), errors.Is(err, vault.ErrTimeout):
		return err.Error(), exitUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("the keychain did not answer within %s. Unlock it if it is locked, or try again with a longer --timeout.", timeout), exitUnavailable
	case errors.Is(err, context.Canceled):
		return "interrupted.", exitNo
	default:
		return err.Error(), exitNo
	}
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// tenantArg is " --tenant NAME" as a user types it into a shell (quoted
// when it must be), "" for no tenant.
func tenantArg(tenant string) string {
	if tenant == "" {
		return ""
	}
	return " --tenant " + shellQuote(tenant)
}

// shellQuote quotes s for the shells of the OS when it holds anything but
// letters, digits and -_.:/@+, and escapes what would not print as itself.
func shellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/@+", r)) {
			plain = false
			break
		}
	}
	switch {
	case plain:
		return s
	case runtime.GOOS == "windows":
		// cmd.exe and PowerShell both take "..."; a " inside is doubled
		// for PowerShell and cmd reads it as an escaped quote.
		return `"` + vault.Printable(strings.ReplaceAll(s, `"`, `""`)) + `"`
	default:
		return "'" + vault.Printable(strings.ReplaceAll(s, "'", `'\''`)) + "'"
	}
}

// tenantFlag adds --tenant to fs.
func tenantFlag(fs *flag.FlagSet) *string {
	return fs.String("tenant", "", "the tenant (uaa.identityzone) whose key to use; may be left out when one tenant has a key")
}
