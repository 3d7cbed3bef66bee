// Package phi seals the patient identifiers HealthGraph protects at rest
// (national ID and phone) with AES-256-GCM, and computes the blind index
// that lets the store find a patient by national ID without decrypting.
//
// A ciphertext names the key that sealed it, so a key ring holds the
// current key (the only one that seals) and older keys that still open
// what they sealed until a rotation has re-sealed every row. The
// associated data binds each ciphertext to its column and row: a value
// copied into another row or column does not open.
package phi

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// KeySize is the length of every key: AES-256 and a 256-bit HMAC key.
const KeySize = 32

// version is the first byte of every ciphertext; a new layout gets a new
// version so old rows stay readable.
const version byte = 1

// Errors that Open returns. Neither says more than that the value cannot be
// read: a tampered, swapped and wrongly keyed ciphertext look the same.
var (
	// ErrUnreadable means the ciphertext is malformed or fails
	// authentication (tampered, moved to another row or column, or sealed
	// by a different key under the same id).
	ErrUnreadable = errors.New("phi: the ciphertext cannot be opened")
	// ErrUnknownKey means the ciphertext names a key the ring does not
	// hold, e.g. one removed before a rotation finished.
	ErrUnknownKey = errors.New("phi: the ciphertext names a key that is not in the ring")
)

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// Keys is a key ring: the current sealing key, older keys that still open,
// and the blind-index key. It is safe for concurrent use.
type Keys struct {
	current string
	aeads   map[string]cipher.AEAD
	raw     map[string][]byte
	index   []byte
}

// Parse reads a ring from its configuration: keys is a comma-separated
// list of id:base64key, the first being the current key; index is the
// base64 blind-index key. Every key must decode to KeySize bytes, ids must
// be unique, and the index key must differ from every sealing key.
func Parse(keys, index string) (*Keys, error) {
	k := &Keys{aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	for i, entry := range strings.Split(keys, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("key %d: want id:base64key with an id of 1 to 32 letters, digits, '.', '_' or '-'", i+1)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("key id %q appears twice", id)
		}
		raw, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		block, _ := aes.NewCipher(raw) // cannot fail for a 32-byte key
		aead, _ := cipher.NewGCM(block)
		k.aeads[id], k.raw[id] = aead, raw
		if i == 0 {
			k.current = id
		}
	}
	var err error
	if k.index, err = decodeKey(index); err != nil {
		return nil, fmt.Errorf("index key: %w", err)
	}
	for id, raw := range k.raw {
		if subtle.ConstantTimeCompare(raw, k.index) == 1 {
			return nil, fmt.Errorf("the index key must differ from key %q", id)
		}
	}
	return k, nil
}

func decodeKey(b64 string) ([]byte, error) {
	b64 = strings.TrimSpace(b64)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil {
		return nil, errors.New("is not base64")
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("must decode to %d bytes, not %d (make one with `openssl rand -base64 32`)", KeySize, len(raw))
	}
	return raw, nil
}

// Development returns the fixed ring that development uses when no keys
// are configured. Its keys are public (they are derived from constants in
// this file), so it protects nothing; it only keeps development databases
// readable across restarts and replicas. Production refuses it.
func Development() *Keys {
	k, err := Parse(DevelopmentConfig())
	if err != nil {
		panic(err) // the constants below are valid
	}
	return k
}

// DevelopmentConfig returns the development ring as configuration: the
// values of HG_PHI_KEYS and HG_PHI_INDEX_KEY that give Development.
func DevelopmentConfig() (keys, index string) { return "dev:" + devKey("seal"), devKey("index") }

func devKey(purpose string) string {
	sum := sha256.Sum256([]byte("healthgraph development PHI " + purpose + " key, not a secret"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// UsesDevelopmentKey reports whether any key of the ring is one of the
// public development keys.
func (k *Keys) UsesDevelopmentKey() bool {
	dev := Development()
	for _, raw := range append(slices.Collect(maps.Values(k.raw)), k.index) {
		if bytes.Equal(raw, dev.raw["dev"]) || bytes.Equal(raw, dev.index) {
			return true
		}
	}
	return false
}

// CurrentID is the id of the key that seals.
func (k *Keys) CurrentID() string { return k.current }

// Prefix is how every ciphertext sealed by the current key begins; the
// store compares it in SQL to find rows a rotation must re-seal.
func (k *Keys) Prefix() []byte { return header(k.current) }

func header(id string) []byte {
	return append([]byte{version, byte(len(id))}, id...)
}

// Seal encrypts value for the column field of the row id under the
// current key: version, key id, random nonce, then the sealed value.
func (k *Keys) Seal(field string, row uuid.UUID, value string) ([]byte, error) {
	aead := k.aeads[k.current]
	h := header(k.current)
	out := make([]byte, len(h), len(h)+aead.NonceSize()+len(value)+aead.Overhead())
	copy(out, h)
	nonce := out[len(h) : len(h)+aead.NonceSize()]
	out = out[:len(h)+aead.NonceSize()]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("phi: nonce: %w", err)
	}
	return aead.Seal(out, nonce, []byte(value), associated(h, field, row)), nil
}

// Open decrypts a ciphertext that Seal made for the same field and row,
// with whichever key of the ring sealed it.
func (k *Keys) Open(field string, row uuid.UUID, ciphertext []byte) (string, error) {
	id, rest, err := split(ciphertext)
	if err != nil {
		return "", err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", ErrUnknownKey
	}
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return "", ErrUnreadable
	}
	nonce, sealed := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, associated(ciphertext[:len(ciphertext)-len(rest)], field, row))
	if err != nil {
		return "", ErrUnreadable
	}
	return string(plain), nil
}

// KeyID returns the id of the key that sealed ciphertext.
func KeyID(ciphertext []byte) (string, error) {
	id, _, err := split(ciphertext)
	return id, err
}

func split(c []byte) (id string, rest []byte, err error) {
	if len(c) < 2 || c[0] != version || len(c) < 2+int(c[1]) {
		return "", nil, ErrUnreadable
	}
	return string(c[2 : 2+int(c[1])]), c[2+int(c[1]):], nil
}

// associated is the data each ciphertext is bound to: its header (so the
// key id cannot be swapped), its column and its row.
func associated(h []byte, field string, row uuid.UUID) []byte {
	ad := make([]byte, 0, len(h)+len(field)+1+len(row))
	ad = append(append(append(ad, h...), field...), 0)
	return append(ad, row[:]...)
}

// Index is the blind index of value in the column field: an HMAC-SHA256
// under the index key, equal for equal values so Postgres can enforce
// uniqueness and look values up, and useless without the key. Callers
// pass the value already normalised (trimmed, validated).
func (k *Keys) Index(field, value string) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}
