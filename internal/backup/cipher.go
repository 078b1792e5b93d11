package backup

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// Cipher encrypts archives at rest with age (X25519), a small audited
// format that streams, so encryption keeps memory flat as well. The key is
// an age identity ("AGE-SECRET-KEY-1…", from `ordersuite backup keygen` or
// age-keygen) given in BACKUP_ENCRYPTION_KEY; archives made with it are
// stored as <id>.zip.age.
type Cipher struct {
	identity  *age.X25519Identity
	recipient *age.X25519Recipient
}

// NewCipher parses an age identity.
func NewCipher(key string) (*Cipher, error) {
	id, err := age.ParseX25519Identity(strings.TrimSpace(key))
	if err != nil {
		// The key itself is never repeated in the message.
		return nil, fmt.Errorf("backup: BACKUP_ENCRYPTION_KEY is not an age identity (AGE-SECRET-KEY-1…)")
	}
	return &Cipher{identity: id, recipient: id.Recipient()}, nil
}

// NewKey returns a fresh identity in its text form.
func NewKey() (string, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// Encrypt copies r to w encrypted.
func (c *Cipher) Encrypt(w io.Writer, r io.Reader) error {
	ew, err := age.Encrypt(w, c.recipient)
	if err != nil {
		return err
	}
	if _, err := io.Copy(ew, r); err != nil {
		return err
	}
	return ew.Close()
}

// Decrypt returns the plaintext of r.
func (c *Cipher) Decrypt(r io.Reader) (io.Reader, error) {
	pr, err := age.Decrypt(r, c.identity)
	if err != nil {
		return nil, apperr.Errorf(apperr.Invalid, "the archive cannot be decrypted with the configured key: %v", err)
	}
	return pr, nil
}

const ageHeader = "age-encryption.org/"

type peekReader struct{ *bufio.Reader }

func newPeekReader(r io.Reader) peekReader { return peekReader{bufio.NewReaderSize(r, 64<<10)} }

// isEncrypted tells an age file from a ZIP by its first bytes.
func isEncrypted(r peekReader) bool {
	b, _ := r.Peek(len(ageHeader))
	return string(b) == ageHeader
}
