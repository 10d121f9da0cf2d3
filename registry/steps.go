package registry

import (
	"context"
	"errors"
	"log/slog"
	"strings"
)

// Action says what one step of a workflow did. The values are the lower-case
// verbs that the lower packages (pullsecret, route, imagestream, build, iam)
// report, plus Reused and Failed.
type Action string

// The actions a Step reports.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Skipped   Action = "skipped"
	Deleted   Action = "deleted"
	// Reused: an existing API key was kept because IAM says it is still
	// valid and belongs to the workflow's service ID; no key was minted.
	Reused Action = "reused"
	// Failed: the step returned an error (Step.Err).
	Failed Action = "failed"
)

// Step is one thing a workflow did (or, in a dry run, would do): which kind
// of object, which one, what happened and why. It never holds a credential:
// Object names objects, Reason explains, and Err is an error of this module,
// which never contains a key.
type Step struct {
	// Name is the kind of step, e.g. "service ID", "policy", "API key",
	// "secret", "service account".
	Name string
	// Object names what the step acted on, e.g. "cluster-c1",
	// "default/all-icr-io", "Reader us-south".
	Object string
	Action Action
	// Reason is a short human explanation; in a dry run it starts with
	// "dry run".
	Reason string
	// DryRun is true when nothing was written (IAM was only read, and
	// Kubernetes writes carried dryRun=All).
	DryRun bool
	// Err is set when the step failed (Action is then Failed).
	Err error
}

// String formats the step as one line: "<name> <object>: <action> (<reason>)".
func (s Step) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	if s.Object != "" {
		b.WriteString(" ")
		b.WriteString(s.Object)
	}
	b.WriteString(": ")
	b.WriteString(string(s.Action))
	if s.Reason != "" {
		b.WriteString(" (")
		b.WriteString(s.Reason)
		b.WriteString(")")
	}
	if s.Err != nil {
		b.WriteString(": ")
		b.WriteString(s.Err.Error())
	}
	return b.String()
}

// Report lists the steps of one workflow run in the order they happened
// (steps done in parallel are sorted by object).
type Report struct {
	Steps []Step
}

// String prints one line per step. It never contains a credential.
func (r Report) String() string {
	var b strings.Builder
	for _, s := range r.Steps {
		b.WriteString(s.String())
		b.WriteString("\n")
	}
	return b.String()
}

// Err joins the errors of the failed steps, or returns nil.
func (r Report) Err() error {
	var errs []error
	for _, s := range r.Steps {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	return errors.Join(errs...)
}

// Failed returns the steps that carry an error.
func (r Report) Failed() []Step {
	var out []Step
	for _, s := range r.Steps {
		if s.Err != nil {
			out = append(out, s)
		}
	}
	return out
}

// Counts returns how many steps ended with each action.
func (r Report) Counts() map[Action]int {
	m := map[Action]int{}
	for _, s := range r.Steps {
		m[s.Action]++
	}
	return m
}

// recorder appends steps to a report and logs each one.
type recorder struct {
	report *Report
	logger *slog.Logger
	dryRun bool
}

func (rec *recorder) add(ctx context.Context, s Step) Step {
	if s.Err != nil {
		s.Action = Failed
	}
	s.DryRun = s.DryRun || rec.dryRun
	rec.report.Steps = append(rec.report.Steps, s)
	if rec.logger != nil {
		attrs := []any{slog.String("step", s.Name), slog.String("object", s.Object), slog.String("action", string(s.Action))}
		if s.Reason != "" {
			attrs = append(attrs, slog.String("reason", s.Reason))
		}
		if s.DryRun {
			attrs = append(attrs, slog.Bool("dry_run", true))
		}
		if s.Err != nil {
			attrs = append(attrs, slog.String("error", s.Err.Error()))
			rec.logger.WarnContext(ctx, "registrykit step failed", attrs...)
		} else {
			rec.logger.InfoContext(ctx, "registrykit step", attrs...)
		}
	}
	return s
}

// fail records a failed step and returns err wrapped with the step's object.
func (rec *recorder) fail(ctx context.Context, name, object string, err error) error {
	rec.add(ctx, Step{Name: name, Object: object, Err: err})
	return err
}
