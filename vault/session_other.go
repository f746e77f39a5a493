//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package vault

func openSecretService() (Backend, func(), error) { return nil, nil, errNoSession }

// sessionBusKnown: only the Secret Service needs a D-Bus session bus.
func sessionBusKnown() error { return nil }
