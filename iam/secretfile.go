package iam

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxSecretFileSize caps what ReadSecretFile reads.
const MaxSecretFileSize = 1 << 20

// ReadSecretFile reads a credential (an API key, a token) kept in a file,
// as a mounted secret holds it: surrounding whitespace and the trailing
// newline are dropped, and at most MaxSecretFileSize bytes are read. An
// empty file is an error. Errors name the file, never its content.
func ReadSecretFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, err // an *fs.PathError: it names the file
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFileSize))
	if err != nil {
		return Secret{}, fmt.Errorf("read %s: %w", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return Secret{}, fmt.Errorf("the file %s is empty", path)
	}
	return NewSecret(v), nil
}

// WithProfile returns o selecting the trusted profile p the way the
// ibmcloud CLI's --profile does: by id when p starts with "Profile-", by
// CRN when it starts with "crn:", else by name. The other selectors are
// cleared.
func (o TrustedProfileOptions) WithProfile(p string) TrustedProfileOptions {
	o.ProfileID, o.ProfileCRN, o.ProfileName = "", "", ""
	switch p = strings.TrimSpace(p); {
	case strings.HasPrefix(p, "Profile-"):
		o.ProfileID = p
	case strings.HasPrefix(p, "crn:"):
		o.ProfileCRN = p
	default:
		o.ProfileName = p
	}
	return o
}
