package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The storage layout, version 2: one key per tenant, and an index of the
// tenants (go-keyring cannot list the items of a service). See the package
// documentation for the picture.

// ChunkSize is the most bytes one keychain item holds: under Windows' 2,560
// and macOS's about 3,000 (go-keyring base64-encodes on macOS, and the
// security command must stay under 4,096 bytes).
const ChunkSize = 2000

// LayoutVersion is the version of the storage layout this calmkey writes:
// the "version" of the index and of every key's manifest.
const LayoutVersion = 2

// Item names under the service.
const (
	// IndexItem lists the stored tenants (its "head" when the list is
	// long; see indexDoc).
	IndexItem = "index"
	// LegacyKeyItem is the manifest of the one key that calmkey releases
	// before layout version 2 kept; its parts are LegacyPartItem(i). A
	// Store moves such a key to the current layout on first use.
	LegacyKeyItem = "service-key"
)

const (
	manifestFormat  = "calmkey-service-key"
	indexFormat     = "calmkey-index"
	legacyVersion   = 1
	encodingPercent = "percent"
	maxFileName     = 255
	// slugMost is the most characters of a tenant name that an item name
	// shows; the hash after it tells tenants apart.
	slugMost = 24
	// hashHex is how many hex digits of the tenant name's SHA-256 an item
	// name holds: 48 bits, so two of a few thousand tenants meet about
	// once in 10^8 (the manifest holds the whole hash and a Store checks
	// it, so even then nothing is mixed up).
	hashHex = 12
	// maxIndexParts bounds what an index head may claim: thousands of
	// tenants with long names.
	maxIndexParts = 256
)

// maxChunks bounds what a manifest may claim: 64 KiB all escaped, in parts.
const maxChunks = (3*MaxFileSize + ChunkSize - 1) / ChunkSize

// LegacyPartItem is the item name of part i (1-based) of a key stored by
// a calmkey release before layout version 2.
func LegacyPartItem(i int) string { return LegacyKeyItem + "-part-" + strconv.Itoa(i) }

// KeyItem is the item name of tenant's manifest: "key-" + a short ASCII
// slug of the name for people who browse their keychain + "-" + 12 hex
// digits of the name's SHA-256, so it is safe and short on every keychain
// whatever the tenant is called (spaces, any script, hundreds of
// characters): "key-acme-prod-1a2b3c4d5e6f". Its parts are PartItem.
func KeyItem(tenant string) string { return itemsOf(tenant).manifest }

// PartItem is the item name of part i (1-based) of tenant's key:
// KeyItem(tenant) + "-part-" + i.
func PartItem(tenant string, i int) string { return itemsOf(tenant).part(i) }

// items names the keychain items of one key.
type items struct {
	manifest string
	prefix   string // of the parts
}

func (it items) part(i int) string { return it.prefix + strconv.Itoa(i) }

// The part sets of a key: a Replace writes the new key's parts in the set
// its manifest does not name, then switches the manifest to them.
const (
	partSetA = ""  // "key-…-part-N", the set every Save writes
	partSetB = "b" // "key-…-b-part-N"
)

// inSet is it with its parts in set (partSetA or partSetB); layout 1 has
// set A only.
func (it items) inSet(set string) items {
	if set == partSetB {
		return items{manifest: it.manifest, prefix: it.manifest + "-b-part-"}
	}
	return items{manifest: it.manifest, prefix: it.manifest + "-part-"}
}

// otherSet is the part set that set is not.
func otherSet(set string) string {
	if set == partSetB {
		return partSetA
	}
	return partSetB
}

var legacyItems = items{manifest: LegacyKeyItem, prefix: LegacyKeyItem + "-part-"}

func itemsOf(tenant string) items {
	name := "key-"
	if s := slug(tenant); s != "" {
		name += s + "-"
	}
	name += tenantHash(tenant)[:hashHex]
	return items{manifest: name, prefix: name + "-part-"}
}

// tenantHash is the hex SHA-256 of a tenant name.
func tenantHash(tenant string) string {
	sum := sha256.Sum256([]byte(tenant))
	return hex.EncodeToString(sum[:])
}

// slug keeps a tenant name's ASCII letters (in lower case) and digits,
// with one '-' for every run of anything else, at most slugMost long.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= slugMost {
				break
			}
			continue
		}
		dash = true
	}
	return b.String()
}

// manifest is the item that makes a stored key visible; it is written after
// the parts. Version 1 (LegacyKeyItem) lacks TenantSHA256 and Summary.
type manifest struct {
	Format       string    `json:"format"`
	Version      int       `json:"version"`
	TenantSHA256 string    `json:"tenantSha256,omitempty"`
	Chunks       int       `json:"chunks"`
	Size         int       `json:"size"`
	Encoding     string    `json:"encoding"`
	SHA256       string    `json:"sha256"`
	UploadedAt   time.Time `json:"uploadedAt"`
	FileName     string    `json:"fileName,omitempty"`
	// Parts names the part set the key is in: "" (set A) or "b" (see
	// items.inSet). The manifest is one item, so writing it switches a
	// tenant from one whole key to another in one keychain write.
	Parts string `json:"parts,omitempty"`
	// Summary is what List shows, so that listing reads no parts. It is
	// left out when it would make the manifest too big for one item (a
	// key with URLs of thousands of characters); List then reads the key.
	Summary *keyFacts `json:"summary,omitempty"`
}

// keyFacts are the fields of a key that are safe to show, in the one JSON
// form both Key.MarshalJSON and a manifest's summary (without tenant and
// warnings) write.
type keyFacts struct {
	Tenant         string         `json:"tenant,omitempty"`
	Region         string         `json:"region,omitempty"`
	ClientID       string         `json:"clientId"`
	CredentialType CredentialType `json:"credentialType"`
	Declared       bool           `json:"declared"`
	APIEndpoint    string         `json:"apiEndpoint"`
	TokenURL       string         `json:"tokenUrl"`
	CertExpiry     *time.Time     `json:"certExpiry,omitempty"` // UTC
	Warnings       []Finding      `json:"warnings,omitempty"`
}

// factsOf is k's safe fields for a manifest: no tenant (the manifest's
// item names it) and no warnings (the key's check gives them on Load).
func factsOf(k *Key) *keyFacts {
	f := &keyFacts{
		Region: k.Region, ClientID: k.ClientID, CredentialType: k.CredentialType, Declared: k.Declared,
		APIEndpoint: k.APIEndpoint, TokenURL: k.TokenURL(),
	}
	if !k.CertExpiry.IsZero() {
		e := k.CertExpiry.UTC()
		f.CertExpiry = &e
	}
	return f
}

// Summary is what List tells about one stored key, without reading the key
// itself. Err is nil, or an error matching ErrCorrupt when the tenant's key
// is damaged: then only Tenant is set (Load says more, Delete removes it).
type Summary struct {
	Tenant         string
	Region         string // "" when unknown
	ClientID       string
	CredentialType CredentialType
	Declared       bool // uaa.credential-type was in the key
	APIEndpoint    string
	TokenURL       string
	CertExpiry     time.Time // zero for the secret kinds
	UploadedAt     time.Time
	FileName       string
	SHA256         string // of the key file's bytes, from the manifest (see Identity)
	Err            error
}

// CredentialTypeText is the credential type in words, saying when it was
// inferred (see CredentialTypeText).
func (s Summary) CredentialTypeText() string { return CredentialTypeText(s.CredentialType, s.Declared) }

// Summary is what List would tell about the stored key.
func (st *Stored) Summary() Summary {
	k := st.Key
	return Summary{
		Tenant: k.Tenant, Region: k.Region, ClientID: k.ClientID, CredentialType: k.CredentialType,
		Declared: k.Declared, APIEndpoint: k.APIEndpoint, TokenURL: k.TokenURL(), CertExpiry: k.CertExpiry,
		UploadedAt: st.UploadedAt, FileName: st.FileName, SHA256: bytesSHA256(k.Bytes()),
	}
}

func (m manifest) summary(tenant string) Summary {
	s := Summary{Tenant: tenant, UploadedAt: m.UploadedAt, FileName: m.FileName, SHA256: m.SHA256}
	if ms := m.Summary; ms != nil {
		s.Region, s.ClientID, s.CredentialType, s.Declared = ms.Region, ms.ClientID, ms.CredentialType, ms.Declared
		s.APIEndpoint, s.TokenURL = ms.APIEndpoint, ms.TokenURL
		if ms.CertExpiry != nil {
			s.CertExpiry = *ms.CertExpiry
		}
	}
	return s
}

// bytesSHA256 is the hex SHA-256 of data, as a manifest keeps it.
func bytesSHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// newManifest describes data, the bytes of key, stored as chunks parts.
func newManifest(key *Key, data []byte, chunks int, uploadedAt time.Time, fileName string) manifest {
	sum := sha256.Sum256(data)
	return manifest{
		Format: manifestFormat, Version: LayoutVersion, TenantSHA256: tenantHash(key.Tenant),
		Chunks: chunks, Size: len(data), Encoding: encodingPercent, SHA256: hex.EncodeToString(sum[:]),
		UploadedAt: uploadedAt, FileName: baseName(fileName), Summary: factsOf(key),
	}
}

// encode writes the manifest as ASCII JSON, without its summary when it
// would not fit one item.
func (m manifest) encode() (string, error) {
	text, err := asciiJSON(m)
	if err == nil && len(text) > ChunkSize {
		m.Summary = nil
		text, err = asciiJSON(m)
	}
	return text, err
}

// decodeManifest reads a manifest of the given layout version.
func decodeManifest(text string, version int) (manifest, error) {
	var m manifest
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return m, errors.New("its manifest cannot be read")
	}
	switch {
	case m.Format != manifestFormat:
		return m, errors.New("its manifest is not calmkey's")
	case m.Version != version:
		return m, fmt.Errorf("its manifest has version %d, which this calmkey does not know here", m.Version)
	case m.Encoding != encodingPercent:
		return m, errors.New("its manifest names an unknown encoding")
	case m.Parts != partSetA && (m.Parts != partSetB || version < LayoutVersion):
		return m, errors.New("its manifest names unknown parts")
	case m.Chunks < 1 || m.Chunks > maxChunks || m.Size < 1 || m.Size > MaxFileSize:
		return m, errors.New("its manifest has impossible sizes")
	case version >= LayoutVersion && len(m.TenantSHA256) != 2*sha256.Size:
		return m, errors.New("its manifest names no tenant")
	}
	return m, nil
}

// indexDoc is the index item: the stored tenants, sorted. Gen counts the
// index's writes, so that every change, even a key deleted and stored
// again, gives another Stamp. A short list is in the item itself (one
// keychain read); a long one is in parts "index-<gen>-part-<i>", written
// before the item that names them and deleted after it is replaced, so a
// write cut short leaves the old index whole.
type indexDoc struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Gen     int64    `json:"gen"`
	Tenants []string `json:"tenants,omitempty"`
	Parts   int      `json:"parts,omitempty"`
	Size    int      `json:"size,omitempty"`
	SHA256  string   `json:"sha256,omitempty"`
	// Legacy is "sweep" while the items of a key moved from layout 1 may
	// still be there (a move cut short before it deleted them).
	Legacy string `json:"legacy,omitempty"`
	// Tidy lists, sorted, the tenants whose part set that their manifest
	// does not name may hold items: a Replace sets it before it writes the
	// new parts and clears it when the old ones are gone, so whatever a
	// crash or kill leaves is removed by the next command.
	Tidy []string `json:"tidy,omitempty"`
}

const legacySweep = "sweep"

func indexPartItem(gen int64, i int) string {
	return IndexItem + "-" + strconv.FormatInt(gen, 10) + "-part-" + strconv.Itoa(i)
}

// index is the index as read: its document, whether the item exists and
// its text (which tells whether another writer replaced it since).
type index struct {
	doc    indexDoc
	exists bool
	head   string
}

func (ix *index) has(tenant string) bool {
	_, ok := slices.BinarySearch(ix.doc.Tenants, tenant)
	return ok
}

// with returns the tenant list with tenant added (sorted) or removed.
func (ix *index) with(tenant string, add bool) []string {
	list := slices.Clone(ix.doc.Tenants)
	i, found := slices.BinarySearch(list, tenant)
	switch {
	case add && !found:
		list = slices.Insert(list, i, tenant)
	case !add && found:
		list = slices.Delete(list, i, i+1)
	}
	return list
}

// decodeIndexHead reads the index item.
func decodeIndexHead(text string) (indexDoc, error) {
	var d indexDoc
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		return d, errors.New("the index of stored tenants cannot be read")
	}
	switch {
	case d.Format != indexFormat:
		return d, errors.New("the index of stored tenants is not calmkey's")
	case d.Version != LayoutVersion:
		return d, fmt.Errorf("the index of stored tenants has layout version %d, which this calmkey does not know; use a newer calmkey", d.Version)
	case d.Parts < 0 || d.Parts > maxIndexParts || (d.Parts > 0 && (len(d.Tenants) > 0 || d.Size < 1)):
		return d, errors.New("the index of stored tenants has impossible sizes")
	case d.Parts == 0 && !slices.IsSorted(d.Tenants), !slices.IsSorted(d.Tidy):
		return d, errors.New("the index of stored tenants is out of order")
	}
	return d, nil
}

// decodeIndexParts reads the tenant list kept in parts.
func decodeIndexParts(d indexDoc, text string) ([]string, error) {
	sum := sha256.Sum256([]byte(text))
	if len(text) != d.Size || hex.EncodeToString(sum[:]) != d.SHA256 {
		return nil, errors.New("the index of stored tenants does not match its checksum")
	}
	var list []string
	if err := json.Unmarshal([]byte(text), &list); err != nil || !slices.IsSorted(list) {
		return nil, errors.New("the index of stored tenants cannot be read")
	}
	return list, nil
}

// encodeIndex gives the index item for tenants at generation gen and, when
// the list does not fit one item, the parts that hold it.
func encodeIndex(gen int64, tenants []string, legacy string) (head string, parts []string, err error) {
	return encodeIndexDoc(indexDoc{Gen: gen, Tenants: tenants, Legacy: legacy})
}

// encodeIndexDoc is encodeIndex of d's generation, tenants, mark and tidy
// list.
func encodeIndexDoc(d indexDoc) (head string, parts []string, err error) {
	d.Format, d.Version = indexFormat, LayoutVersion
	tenants := d.Tenants
	head, err = asciiJSON(d)
	if err != nil || len(head) <= ChunkSize {
		return head, nil, err
	}
	list, err := asciiJSON(tenants)
	if err != nil {
		return "", nil, err
	}
	parts = split(list, ChunkSize)
	if len(parts) > maxIndexParts {
		return "", nil, errors.New("the index of stored tenants would be too long: delete keys you no longer need")
	}
	sum := sha256.Sum256([]byte(list))
	d.Tenants, d.Parts, d.Size, d.SHA256 = nil, len(parts), len(list), hex.EncodeToString(sum[:])
	head, err = asciiJSON(d)
	return head, parts, err
}

// asciiJSON writes v as JSON in ASCII, escaping every other rune, so that it
// fits the byte limits wherever it is stored.
func asciiJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out.WriteRune(r)
		} else {
			writeJSONEscape(&out, r)
		}
	}
	return out.String(), nil
}

// encodePercent keeps printable ASCII and line ends as they are and writes
// every other byte, and '%', as %XX: the key's own text is ASCII almost
// everywhere, so parts stay nearly as small as the file.
func encodePercent(data []byte) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(data) + len(data)/16)
	for _, c := range data {
		if (c >= 0x20 && c < 0x7f && c != '%') || c == '\n' || c == '\r' || c == '\t' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

func decodePercent(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c >= 0x80 {
				return nil, errors.New("non-ASCII byte")
			}
			out = append(out, c)
			continue
		}
		if i+2 >= len(s) {
			return nil, errors.New("cut escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return nil, err
		}
		out = append(out, byte(v))
		i += 2
	}
	return out, nil
}

func split(s string, size int) []string {
	var parts []string
	for len(s) > size {
		parts = append(parts, s[:size])
		s = s[size:]
	}
	return append(parts, s)
}

// baseName keeps the last element of a path from any platform.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if len(name) > maxFileName {
		cut := maxFileName
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	return name
}
