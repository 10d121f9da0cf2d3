package iam

// Result says what an Ensure or Delete call did.
type Result int

// The outcomes. The zero Result is not one of them and prints "unknown";
// it is what a failed call returns.
const (
	// Created means the object did not exist and was created.
	Created Result = iota + 1
	// Unchanged means an equal object already existed; nothing was written.
	Unchanged
	// Updated means an existing object was changed.
	Updated
	// Deleted means the object existed and was deleted.
	Deleted
)

// String returns the lower-case name of the result.
func (r Result) String() string {
	switch r {
	case Created:
		return "created"
	case Unchanged:
		return "unchanged"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}
