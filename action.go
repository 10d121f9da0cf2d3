package registrykit

import "strings"

// Action says what a call did to one object, or (in a dry run) what it would
// have done. Every package of this module reports this one type: a
// pullsecret Result, an iam Ensure call and a registry workflow Step all
// speak it.
type Action string

// The actions.
const (
	// Created: the object did not exist and was created.
	Created Action = "created"
	// Updated: the object existed and was changed.
	Updated Action = "updated"
	// Unchanged: the object already was as desired; nothing was written.
	Unchanged Action = "unchanged"
	// Skipped: nothing was written on purpose; Result.Skip says why.
	Skipped Action = "skipped"
	// Deleted: the object existed and was deleted.
	Deleted Action = "deleted"
	// Reused: an existing credential was kept instead of minting a new one
	// (an API key that IAM still reports valid).
	Reused Action = "reused"
	// Failed: the call returned an error for this object.
	Failed Action = "failed"
)

// String returns the action as a lower-case verb.
func (a Action) String() string { return string(a) }

// Writes reports whether the action changed an object (created, updated or
// deleted it).
func (a Action) Writes() bool { return a == Created || a == Updated || a == Deleted }

// SkipReason says why an object was Skipped. The harmless reasons are
// expected on every run; a reason whose Warning method reports true needs a
// person's attention (a foreign object was left in place, so the target is
// not served).
type SkipReason string

// The skip reasons.
const (
	// SkipSourceNamespace: the target is the source itself.
	SkipSourceNamespace SkipReason = "source-namespace"
	// SkipTerminating: the namespace is being deleted.
	SkipTerminating SkipReason = "terminating"
	// SkipExcluded: the namespace is outside the selection (a system
	// namespace excluded by default, or an exclude rule).
	SkipExcluded SkipReason = "excluded"
	// SkipNotFound: the object or its namespace does not exist, and the call
	// does not create it.
	SkipNotFound SkipReason = "not-found"
	// SkipDryRun: the step depends on an object that a dry run does not
	// store.
	SkipDryRun SkipReason = "dry-run"
	// SkipForeign: a same-named object that this module did not create, and
	// may not adopt, was left in place. The target is not served by us.
	SkipForeign SkipReason = "foreign"
	// SkipNotOurs: the object holds nothing this call manages (for example a
	// secret holding none of the keys being rotated).
	SkipNotOurs SkipReason = "not-ours"
	// SkipInUse: the object was to be deleted, but something this call does
	// not remove still uses it (an API key that a pull secret registrykit
	// did not make still holds), and deleting it would break that user.
	SkipInUse SkipReason = "in-use"
	// SkipForbidden: the caller may not read what the step depends on (an
	// RBAC rule the operation lists as optional), so the step was not done.
	SkipForbidden SkipReason = "forbidden"
)

// Warning reports whether the skip needs attention: the desired state was
// not reached for this object and will not be by rerunning.
func (r SkipReason) Warning() bool {
	return r == SkipForeign || r == SkipInUse || r == SkipForbidden
}

// Result is the outcome of one decision about one object: the action, why a
// skip happened, a short human-readable reason and any warnings. A Result
// never holds secret data.
type Result struct {
	Action Action
	// Skip is set when Action is Skipped.
	Skip SkipReason
	// Reason explains the action in a few words: which fields drifted, why
	// nothing was written. In a dry run the reason of a write says that it
	// was not persisted.
	Reason string
	// Warnings are problems that did not stop the call but need attention
	// (for example a required registry already missing from the global
	// pull secret).
	Warnings []string
}

// NeedsAttention reports whether the result carries a warning or a skip
// whose reason is a warning.
func (r Result) NeedsAttention() bool {
	return len(r.Warnings) > 0 || (r.Action == Skipped && r.Skip.Warning())
}

// String formats the result as "<action> (<reason>)", with the skip reason
// and warnings when there are any.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(string(r.Action))
	if r.Skip != "" {
		b.WriteString(" [")
		b.WriteString(string(r.Skip))
		b.WriteString("]")
	}
	if r.Reason != "" {
		b.WriteString(" (")
		b.WriteString(r.Reason)
		b.WriteString(")")
	}
	for _, w := range r.Warnings {
		b.WriteString("; warning: ")
		b.WriteString(w)
	}
	return b.String()
}
