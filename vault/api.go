// Package vault knows what a valid SAP Cloud ALM service key is and keeps
// one per tenant in the operating system's keychain. It has no GUI and
// builds without cgo.
//
// # Keychain layout (version 2)
//
// A Store keeps its keys under one keychain service (DefaultService,
// "calmkey", unless Options.Service or CALMKEY_KEYCHAIN_SERVICE says
// otherwise), one key per tenant (the key's uaa.identityzone, Key.Tenant),
// each as several items, because Windows keeps at most 2,560 bytes per
// secret and macOS about 3,000:
//
//	index                          the stored tenants' names, sorted, with
//	                               a generation counted up on every change
//	                               (deleted with the last key)
//	key-acme-prod-1a2b3c4d5e6f     tenant acme-prod's manifest: JSON with
//	                               format, layout version, the tenant's
//	                               SHA-256, part count, byte count, SHA-256,
//	                               upload time, file name and the summary
//	                               List shows
//	key-acme-prod-1a2b3c4d5e6f-part-1   the key file's bytes, percent-
//	key-acme-prod-1a2b3c4d5e6f-part-2   encoded to ASCII, in parts of at
//	...                                 most ChunkSize (2,000) bytes
//
// A key's item names (KeyItem, PartItem) are "key-", an ASCII slug of the
// tenant name of at most 24 characters, and 12 hex digits of the name's
// SHA-256: short and safe on every keychain whatever the name holds
// (spaces, any script, hundreds of characters). An index too long for one
// item (hundreds of tenants) is kept in parts "index-<generation>-part-N",
// written before the index item that names them.
//
// Crashes: a save writes the parts, then the manifest, then the index; a
// delete removes the manifest, then the index entry, then the parts. So a
// key is stored exactly when its manifest is there; a save cut short
// before the index leaves a whole key that List does not show yet (the
// next Save or Load of that tenant lists it), and a delete cut short
// leaves an index entry without a manifest, which List skips and the next
// Save or Delete of that tenant clears. Leftover parts (of a save cut
// short by a crash, which could not undo them) are removed by the next Save
// or Delete of their tenant: a Save sweeps the parts beyond its own.
//
// A Replace (rotation) swaps a tenant's key without a moment of no key or
// of a mix: it puts the tenant on the index's tidy list, writes the new
// key's parts in the other part set ("key-…-b-part-N", or back), rewrites
// the manifest to name them (one item: the switch), deletes the old parts
// and takes the tenant off the list. Whatever a crash leaves, the manifest
// names one whole key; the next command that sees the list deletes the
// other set's parts.
//
// Version 1, written by calmkey releases before several tenants, kept one
// key as LegacyKeyItem ("service-key") and LegacyPartItem(i)
// ("service-key-part-N"); a Store moves such a key to version 2 on first
// use (see Store).
//
// The manifest's SHA-256 is a damage check, not tamper protection: it finds
// parts that were cut, mixed up or changed by accident, but whoever can write
// the items (any program running as the user) can rewrite the checksum too.
// The keychain's own access control is what keeps others out.
//
// # One writer at a time
//
// Several processes share the keys: the desktop app, calmkeyctl, a cron
// job, a second window. Save and Delete (and the move of an old key) hold
// an exclusive lock on a file while they check and write; Load and List
// hold it shared (see LockFile for where the file lives). A lock held by
// another process for the whole of the Store's deadline is ErrBusy
// ("another calmkey is changing the key; try again"). Of several Saves of
// one tenant's keys at once exactly one stores its key; the others get
// ErrAlreadyStored, checked under the lock.
//
// # Timeouts
//
// Every Store call has a deadline (Options.Timeout). A keychain call cannot
// be cancelled, so a Save or Delete that runs past it is waited for up to
// WriteGrace (5 s) more, holding the lock: a Save is then undone, so
// ErrTimeout means nothing was stored; if the keychain has not answered by
// then, the ErrTimeout says the keychain may hold a partial key and that
// Delete removes it.
//
// # What the front ends share
//
// Printable escapes text for printing; CertExpiry gives the certificate's
// days to expiry and their wording; CredentialTypeText words the
// credential type; Key.JSON masks secret fields of any type; ServiceFromEnv
// gives the keychain service name; ReadKeyFile reads an upload under the
// size cap and a deadline. The app and calmkeyctl use these, so that they
// agree.
package vault

import (
	"errors"
	"time"
)

// MaxFileSize is the largest upload Parse accepts.
const MaxFileSize = 64 << 10

// CredentialType is uaa.credential-type.
type CredentialType string

// The credential types a key can have.
const (
	BindingSecret  CredentialType = "binding-secret"
	InstanceSecret CredentialType = "instance-secret"
	X509           CredentialType = "x509"
)

// IsSecret reports whether the type authenticates with a client secret.
func (t CredentialType) IsSecret() bool { return t == BindingSecret || t == InstanceSecret }

// CredentialTypeText is the credential type as every front end shows it:
// "x509", or for a key that does not declare it (older keys) the type the
// format check inferred from the key's fields, saying so:
// "instance-secret (inferred: the key does not declare uaa.credential-type)".
func CredentialTypeText(t CredentialType, declared bool) string {
	text := string(t)
	if text == "" {
		return "unknown type"
	}
	if !declared {
		text += " (inferred: the key does not declare uaa.credential-type)"
	}
	return text
}

// CredentialTypeText is CredentialTypeText of the key's type.
func (k *Key) CredentialTypeText() string { return CredentialTypeText(k.CredentialType, k.Declared) }

// Finding is one problem or warning about a field, named by its JSON path
// ("uaa.clientsecret"). Path is empty for the document as a whole.
// Message is the English text; the embedded Msg is the same as a code and
// values (zero in a finding from before codes existed).
type Finding struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Msg
}

// String gives "uaa.clientsecret: missing".
func (f Finding) String() string {
	if f.Path == "" {
		return f.Message
	}
	return f.Path + ": " + f.Message
}

// FormatError is returned by Parse when the input is not a valid key. It lists
// every problem found, not just the first, and the warnings seen on the way.
// Its text never contains a secret.
type FormatError struct {
	Problems []Finding
	Warnings []Finding
}

// tooLargeText is ErrTooLarge's text, and the English of its code
// format.tooLarge.
const tooLargeText = "the file is larger than 64 KiB, which no service key is; choose the key file downloaded from the SAP BTP cockpit"

// Typed errors. Use errors.Is: the errors Store returns wrap these and carry
// a longer message that says what to do.
var (
	ErrTooLarge      = errors.New(tooLargeText)
	ErrNotFound      = errors.New("no service key is stored; upload one first")
	ErrAlreadyStored = errors.New("the tenant already has a service key: delete it first")
	ErrCorrupt       = errors.New("the stored service key is damaged; delete it and upload the key file again")
	ErrTimeout       = errors.New("the keychain did not answer in time; if it asks to be unlocked, unlock it and try again")
	ErrUnavailable   = errors.New("the keychain cannot be reached") // no Secret Service, locked, no D-Bus
	// ErrBusy: another process (the app, calmkeyctl, a cron job) held the
	// keychain lock for the whole of the deadline. Nothing was changed.
	ErrBusy = errors.New("another calmkey is changing the key; try again")
	// ErrChanged: DeleteIf found another key than the one it was to delete
	// (another program replaced it). Nothing was deleted.
	ErrChanged = errors.New("the service key was replaced meanwhile; nothing was deleted")
	// ErrOtherTenant: a replacement key is for another tenant than the
	// stored key (see TenantMismatchError). Nothing was changed.
	ErrOtherTenant = errors.New("the new service key is for another tenant than the stored one")
	// ErrIdentical: a replacement key is the stored key itself. Nothing
	// was changed.
	ErrIdentical = errors.New("this service key is already stored")
)

// Key is a parsed service key. Its exported fields are safe to show; the
// secret material is reachable only through methods, and Key's String and
// fmt formatting never print it.
type Key struct {
	Tenant         string         // uaa.identityzone
	Region         string         // e.g. "eu10", from the hosts; "" when unknown
	ClientID       string         // uaa.clientid
	CredentialType CredentialType // declared, or inferred from the fields when absent
	Declared       bool           // uaa.credential-type was present
	APIEndpoint    string         // endpoints.Api
	UAAURL         string         // uaa.url
	CertURL        string         // uaa.certurl (x509 only)
	CertExpiry     time.Time      // NotAfter of the client certificate; zero for secret kinds
	Warnings       []Finding      // accepted, but to be shown to the user

	// Behind a closure: fmt prints a struct holding a Key by reflection,
	// without calling Key's methods, and even dereferences pointers there
	// (%s on a pointer field); a func is only ever printed as an address.
	sec func() *secrets
}

// Stored is what Load returns: the key and its manifest's facts. The
// tenant is Key.Tenant.
type Stored struct {
	Key        *Key
	UploadedAt time.Time
	FileName   string // base name of the uploaded file, "" when pasted or from stdin
}

// Backend is the keychain: go-keyring's functions, or an in-memory fake.
//
// Get and Delete return an error wrapping ErrNotFound (or go-keyring's
// keyring.ErrNotFound) when the item is missing. Errors wrapping
// ErrUnavailable, and any other error, are reported as "keychain
// unavailable". A Store never lists or deletes a whole service: other
// tenants' keys live under it too.
type Backend interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// Options configure a Store. Zero values mean: the OS keychain, service
// DefaultService, timeout DefaultTimeout, the lock file in the user's own
// folder for it (see LockFile). Timeout bounds each Store call (Save, Load, List, Delete, Stamp) with
// all the keychain calls it makes and the wait for the keychain lock; a
// write that runs past it is waited for up to WriteGrace more and undone
// (see Store.Save).
type Options struct {
	Backend Backend
	Service string
	Timeout time.Duration
	// LockDir is the folder of the keychain lock file (see LockFile); ""
	// is the folder that follows the user (see lockDir). Stores that share
	// a keychain service should share it, so only tests set it.
	LockDir string
}

// WriteGrace is how long a Save or Delete that outlived its deadline is
// waited for, so that what it wrote can be undone before the caller hears
// "timeout".
const WriteGrace = 5 * time.Second

// DefaultService is the keychain service name every item is stored under.
const DefaultService = "calmkey"

// DefaultTimeout bounds every keychain call.
const DefaultTimeout = 30 * time.Second
