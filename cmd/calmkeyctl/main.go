// Command calmkeyctl is the command line of calmkey: it checks, stores, shows,
// downloads, deletes and tests the SAP Cloud ALM service key kept in the
// operating system's keychain, for scripts, remote shells and automation.
// It shares the keychain entry with the desktop app and builds without cgo.
//
// The commands, their output and their exit statuses are a contract that
// scripts depend on; see usage in run.go and the README.
package main

import (
	"context"
	"os"
	"os/signal"

	"golang.org/x/term"
)

// version and commit are set at build time:
// -ldflags '-X main.version=1.2.3 -X main.commit=0123456789ab'.
var (
	version = "dev"
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, env{
		getenv:   os.Getenv,
		terminal: term.IsTerminal(int(os.Stdin.Fd())),
	})
	stop()
	os.Exit(code)
}
