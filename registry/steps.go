package registry

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/registrykit/registrykit"
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
	// Action is what happened: Created, Updated, Unchanged, Skipped,
	// Deleted, Reused, or Failed when Err is set.
	Action registrykit.Action
	// Skip says why a Skipped step was skipped. A skip whose reason is a
	// warning (registrykit.SkipForeign: a same-named object this module did
	// not make was left in place) means the workflow's goal was not reached
	// for that object; Report.Warnings lists those steps.
	Skip registrykit.SkipReason
	// Reason is a short human explanation; in a dry run it says so.
	Reason string
	// DryRun is true when nothing was written (IAM was only read, and
	// Kubernetes writes carried dryRun=All).
	DryRun bool
	// Err is set when the step failed (Action is then Failed).
	Err error
}

// stepOf turns the Result of a lower package's call into a Step.
func stepOf(name, object string, r registrykit.Result) Step {
	return Step{Name: name, Object: object, Action: r.Action, Skip: r.Skip, Reason: r.Reason}
}

// result is the step's outcome as the shared vocabulary has it.
func (s Step) result() registrykit.Result {
	return registrykit.Result{Action: s.Action, Skip: s.Skip, Reason: s.Reason}
}

// NeedsAttention reports whether the step failed or was skipped for a
// reason that is a warning.
func (s Step) NeedsAttention() bool {
	return s.Err != nil || s.result().NeedsAttention()
}

// String formats the step as one line: "<name> <object>: <action>
// [<skip reason>] (<reason>)", with ": <error>" for a failed step.
func (s Step) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	if s.Object != "" {
		b.WriteString(" ")
		b.WriteString(s.Object)
	}
	b.WriteString(": ")
	b.WriteString(s.result().String())
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

// String prints one line per step, then one "warning: <step>" line per step
// that Warnings returns. It never contains a credential.
func (r Report) String() string {
	var b strings.Builder
	for _, s := range r.Steps {
		b.WriteString(s.String())
		b.WriteString("\n")
	}
	for _, s := range r.Warnings() {
		b.WriteString("warning: ")
		b.WriteString(s.String())
		b.WriteString("\n")
	}
	return b.String()
}

// Warnings returns the steps that were skipped for a reason that needs
// attention (registrykit.SkipReason.Warning): the run did not fail, but its
// goal was not reached for those objects and a rerun will not change that
// (for example a same-named secret that registrykit did not make was left in
// place, so the service account was not given the copy).
func (r Report) Warnings() []Step {
	var out []Step
	for _, s := range r.Steps {
		if s.Err == nil && s.NeedsAttention() {
			out = append(out, s)
		}
	}
	return out
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
func (r Report) Counts() map[registrykit.Action]int {
	m := map[registrykit.Action]int{}
	for _, s := range r.Steps {
		m[s.Action]++
	}
	return m
}

// recorder appends steps to a report and logs each one: the one place a
// workflow logs, so an object is logged once (the lower packages' calls get
// no logger, see lower).
type recorder struct {
	report *Report
	opts   registrykit.WriteOptions
	// onStep, if set, is called with every step added.
	onStep func(Step)
}

func newRecorder(rep *Report, o registrykit.WriteOptions) *recorder {
	return &recorder{report: rep, opts: o}
}

// lower returns the write options of the lower packages' calls: the
// workflow's dry run and field manager, without its logger, since every
// result is logged here as a Step.
func (rec *recorder) lower() registrykit.WriteOptions {
	o := rec.opts
	o.Logger = nil
	return o
}

func (rec *recorder) add(ctx context.Context, s Step) Step {
	if s.Err != nil {
		s.Action = registrykit.Failed
	}
	s.DryRun = s.DryRun || rec.opts.DryRun
	rec.report.Steps = append(rec.report.Steps, s)
	if rec.onStep != nil {
		rec.onStep(s)
	}
	if rec.opts.Logger != nil {
		attrs := []any{slog.String("step", s.Name), slog.String("object", s.Object), slog.String("action", string(s.Action))}
		if s.Skip != "" {
			attrs = append(attrs, slog.String("skip", string(s.Skip)))
		}
		if s.Reason != "" {
			attrs = append(attrs, slog.String("reason", s.Reason))
		}
		if s.DryRun {
			attrs = append(attrs, slog.Bool("dry_run", true))
		}
		if s.Err != nil {
			attrs = append(attrs, slog.String("error", s.Err.Error()))
			rec.opts.Logger.WarnContext(ctx, "registrykit step failed", attrs...)
		} else if s.NeedsAttention() {
			rec.opts.Logger.WarnContext(ctx, "registrykit step needs attention", attrs...)
		} else {
			rec.opts.Logger.InfoContext(ctx, "registrykit step", attrs...)
		}
	}
	return s
}

// sortFrom sorts the steps recorded since index start by object: steps
// done in parallel are recorded in completion order.
func (rec *recorder) sortFrom(start int) {
	steps := rec.report.Steps[start:]
	slices.SortStableFunc(steps, func(a, b Step) int { return strings.Compare(a.Object, b.Object) })
}

// fail records a failed step and returns err wrapped with the step's object.
func (rec *recorder) fail(ctx context.Context, name, object string, err error) error {
	rec.add(ctx, Step{Name: name, Object: object, Err: err})
	return err
}
