package pullsecret

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/registrykit/registrykit"
)

// Outcome is what happened in one namespace.
type Outcome struct {
	Namespace string
	// Result is the decision made for the namespace (Skip says why a
	// Skipped one was skipped).
	Result registrykit.Result
	// Err is non-nil when the namespace failed; it names the object and
	// wraps the API error (apierrors.IsForbidden etc. work on it).
	Err error
}

// Report holds one Outcome per target namespace, sorted by namespace.
type Report struct {
	Outcomes []Outcome
}

// Counts returns how many namespaces ended with each action. Failed
// namespaces are counted under registrykit.Failed.
func (r Report) Counts() map[registrykit.Action]int {
	c := map[registrykit.Action]int{}
	for _, o := range r.Outcomes {
		if o.Err != nil {
			c[registrykit.Failed]++
			continue
		}
		c[o.Result.Action]++
	}
	return c
}

// Failed returns the outcomes that carry an error.
func (r Report) Failed() []Outcome {
	var f []Outcome
	for _, o := range r.Outcomes {
		if o.Err != nil {
			f = append(f, o)
		}
	}
	return f
}

// Err joins the errors of every failed namespace, or returns nil.
func (r Report) Err() error {
	var errs []error
	for _, o := range r.Outcomes {
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return errors.Join(errs...)
}

// Warnings returns the outcomes that need attention without having failed:
// a namespace skipped for a reason that is a warning (a same-named secret
// registrykit did not make was left in place, registrykit.SkipForeign), so
// it is not served by the copy and a rerun will not change that.
func (r Report) Warnings() []Outcome {
	var w []Outcome
	for _, o := range r.Outcomes {
		if o.Err == nil && o.Result.NeedsAttention() {
			w = append(w, o)
		}
	}
	return w
}

// String summarises the counts, e.g. "created=3 unchanged=497", followed by
// one "; warning: <namespace>: <result>" per outcome Warnings returns.
func (r Report) String() string {
	c := r.Counts()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c[registrykit.Action(k)]))
	}
	out := strings.Join(parts, " ")
	for _, o := range r.Warnings() {
		out += "; warning: " + o.Namespace + ": " + o.Result.String()
	}
	return out
}
