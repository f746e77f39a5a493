//go:build !windows

package netroute

// platformNegotiate: Negotiate as the logged-in user needs Windows' SSPI.
var platformNegotiate NegotiateFunc
