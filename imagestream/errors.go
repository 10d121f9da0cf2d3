package imagestream

import (
	"errors"
	"fmt"
)

// Sentinel errors; every typed error below matches one of them with
// errors.Is. Invalid input is a *registrykit.InvalidError (or, from
// ParseReference, a *ReferenceError) matching registrykit.ErrInvalid.
var (
	// ErrNotTagged: WaitForImport was asked about a tag the stream's spec
	// does not have (or that is a reference, which is never imported).
	ErrNotTagged = errors.New("image stream tag not in spec")
	// ErrImportFailed is matched by *ImportError.
	ErrImportFailed = errors.New("image import failed")
)

// ImportError is the server's ImportSuccess=False condition for a tag: the
// registry refused the credentials, the image does not exist, and so on. It
// matches ErrImportFailed.
type ImportError struct {
	Ref Ref
	// Reason and Message are the condition's, e.g. "Unauthorized" and
	// "you may not have access to the container image ...".
	Reason, Message string
	// Generation is the spec tag generation the condition is about.
	Generation int64
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("import of %s failed: %s: %s", e.Ref, e.Reason, e.Message)
}

// Is reports whether target is ErrImportFailed.
func (e *ImportError) Is(target error) bool { return target == ErrImportFailed }
