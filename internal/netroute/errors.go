package netroute

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The proxy's own failures. Each names the proxy as host:port; none holds
// a password or a Negotiate token.

// UnreachableError: the proxy could not be connected to (refused, no such
// host, timed out, or its TLS, for an https proxy). Err is the dialler's.
type UnreachableError struct {
	Proxy string
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot connect to the proxy %s: %v", e.Proxy, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// AuthError: the proxy answered 407 and wants authentication that was not
// given or not accepted. Offered are the schemes it named (Negotiate, NTLM,
// Basic, ...); Tried is the one sent last, "" when none could be.
type AuthError struct {
	Proxy   string
	Offered []string
	Tried   string
}

func (e *AuthError) Error() string {
	offered := "it names no scheme"
	if len(e.Offered) > 0 {
		offered = "it offers " + strings.Join(e.Offered, ", ")
	}
	if e.Tried == "" {
		return fmt.Sprintf("the proxy %s requires authentication (HTTP 407; %s), and calmkey has none of that to give", e.Proxy, offered)
	}
	return fmt.Sprintf("the proxy %s did not accept %s authentication (HTTP 407; %s)", e.Proxy, e.Tried, offered)
}

// ErrRejected: the proxy answered the last Negotiate token with another 407.
var ErrRejected = errors.New("the proxy did not accept the Windows logon")

// NegotiateError: Negotiate (Kerberos or NTLM as the logged-in Windows
// user) failed for the SPN: SSPI could not make a token (Err is its code),
// or the proxy did not accept it (ErrRejected).
type NegotiateError struct {
	Proxy string
	SPN   string
	Err   error
}

func (e *NegotiateError) Error() string {
	return fmt.Sprintf("Negotiate authentication with the proxy %s (SPN %s) failed: %v", e.Proxy, e.SPN, e.Err)
}
func (e *NegotiateError) Unwrap() error { return e.Err }

// RefusedError: the proxy answered CONNECT with something other than
// success or 407; 403 is a proxy that does not let the host through.
type RefusedError struct {
	Proxy  string
	Target string
	Status int
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the proxy %s refused to connect to %s (HTTP %d %s)", e.Proxy, e.Target, e.Status, http.StatusText(e.Status))
}

// ClosedError: the proxy closed the connection (or reset it) instead of
// answering CONNECT in full.
type ClosedError struct {
	Proxy string
	Err   error
}

func (e *ClosedError) Error() string {
	return fmt.Sprintf("the proxy %s closed the connection before answering: %v", e.Proxy, e.Err)
}
func (e *ClosedError) Unwrap() error { return e.Err }

// RouteError carries the route a failed connection took, so that a report
// can name it next to the failure.
type RouteError struct {
	Route Route
	Err   error
}

func (e *RouteError) Error() string { return e.Err.Error() }
func (e *RouteError) Unwrap() error { return e.Err }
