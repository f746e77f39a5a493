package vault

import "errors"

// sessionOpener is a Backend that can bind one keychain session to a whole
// Store operation, so the items of one key do not each pay for connecting,
// finding the collection, unlocking and opening a session.
type sessionOpener interface {
	openSession() (b Backend, done func(), err error)
}

// errNoSession: the platform has no session support; use the plain calls.
var errNoSession = errors.New("no keychain session support on this platform")

func (KeyringBackend) openSession() (Backend, func(), error) { return openSecretService() }
