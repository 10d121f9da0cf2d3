package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/imagestream"
	"github.com/registrykit/registrykit/internal/redact"
	"github.com/registrykit/registrykit/internal/valid"
)

// DefaultWaitTimeout bounds the waits of ImportImage and
// ExposeInternalRegistry when their Timeout option is zero (ctx bounds them
// too).
const DefaultWaitTimeout = 2 * time.Minute

// ImportOptions configure ImportImage. The zero value is `oc tag` without
// flags followed by a wait of up to DefaultWaitTimeout for the import.
type ImportOptions struct {
	// ReferencePolicy: empty means imagestream.SourcePolicy; the guide uses
	// imagestream.LocalPolicy for icr.io images.
	ReferencePolicy imagestream.ReferencePolicy
	// Scheduled re-imports periodically (oc tag --scheduled).
	Scheduled bool
	// Insecure allows HTTP or unverified TLS (oc tag --insecure).
	Insecure bool
	// ImportMode: empty leaves it to the cluster.
	ImportMode imagestream.ImportMode
	// Timeout bounds the wait for the import; zero means DefaultWaitTimeout.
	Timeout time.Duration
	// NoWait returns after tagging, without waiting for the import.
	NoWait bool
	// WriteOptions: DryRun sends the write with dryRun=All and does not wait.
	// FieldManager names the writer of every Kubernetes write. Logger receives
	// one record per step; nil means silent; no record contains a credential.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o ImportOptions) Validate(path *field.Path) field.ErrorList {
	errs := o.tagOptions().Validate(path)
	return append(errs, valid.NotNegative(path.Child("timeout"), o.Timeout, o.Timeout.String())...)
}

// tagOptions are the imagestream.TagOptions of the tag this workflow writes.
func (o ImportOptions) tagOptions() imagestream.TagOptions {
	return imagestream.TagOptions{ReferencePolicy: o.ReferencePolicy, Scheduled: o.Scheduled, Insecure: o.Insecure, ImportMode: o.ImportMode}
}

// ImportImage tags an external image into an image stream
// (imagestream.Tag, like `oc tag <source> <ns>/<stream>:<tag>`) and waits
// for the server to import it (imagestream.WaitForImport). It returns the
// imported digest ("" when not waited for). The project needs a pull secret
// for the source registry (ApplyClusterPullSecret, CopyICRSecret,
// ProjectCredentials); a refused import is an error matching
// imagestream.ErrImportFailed carrying the server's message.
func ImportImage(ctx context.Context, cluster *Cluster, source string, dest imagestream.Ref, opts ImportOptions) (string, Report, error) {
	var rep Report
	var errs field.ErrorList
	if _, err := imagestream.ParseReference(source); err != nil {
		var re *imagestream.ReferenceError
		detail := err.Error()
		if errors.As(err, &re) {
			detail = re.Detail
		}
		errs = append(errs, field.Invalid(field.NewPath("source"), redact.Userinfo(source), detail))
	}
	errs = append(errs, dest.Validate(field.NewPath("dest"))...)
	errs = append(errs, opts.Validate(nil)...)
	errs = append(errs, clusterErrs(cluster, imagesClient)...)
	if err := registrykit.Invalid("registry.ImportImage", errs); err != nil {
		return "", rep, fmt.Errorf("import image: %w", err)
	}
	rec := newRecorder(&rep, opts.WriteOptions)
	wrap := func(err error) error { return fmt.Errorf("import image %s into %s: %w", source, dest, err) }
	topts := opts.tagOptions()
	topts.WriteOptions = rec.lower()
	res, err := imagestream.Tag(ctx, cluster.Images, source, dest, topts)
	if err != nil {
		return "", rep, wrap(rec.fail(ctx, "image stream tag", dest.String(), err))
	}
	rec.add(ctx, stepOf("image stream tag", dest.String(), res))
	if opts.NoWait || opts.DryRun {
		step := Step{Name: "import", Object: dest.String(), Action: registrykit.Skipped, Reason: "not waited for (NoWait)"}
		if opts.DryRun {
			step.Skip, step.Reason = registrykit.SkipDryRun, "dry run: nothing to wait for"
		}
		rec.add(ctx, step)
		return "", rep, nil
	}
	wctx, cancel := context.WithTimeout(ctx, orDuration(opts.Timeout, DefaultWaitTimeout))
	defer cancel()
	digest, err := imagestream.WaitForImport(wctx, cluster.Images, dest)
	if err != nil {
		return "", rep, wrap(rec.fail(ctx, "import", dest.String(), err))
	}
	rec.add(ctx, Step{Name: "import", Object: dest.String(), Action: registrykit.Unchanged, Reason: "imported " + digest})
	return digest, rep, nil
}

func orDuration(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
