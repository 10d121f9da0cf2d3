// Package kubewrite holds what the packages that write Kubernetes and
// OpenShift objects share and do not publish: the conflict backoff of their
// re-read-and-retry loops and the one place a write decision is logged. The
// public vocabulary (Action, Result, WriteOptions) lives in the root package
// registrykit.
package kubewrite

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/registrykit/registrykit"
)

// ConflictBackoff paces the re-read-and-retry loops. client-go's
// retry.DefaultRetry gives up after 5 quick attempts, which a handful of
// concurrent writers to one object can exhaust; this allows 8 attempts over
// at most about two seconds of sleeping.
var ConflictBackoff = wait.Backoff{Steps: 8, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 0.5}

// DryRunNote is appended to the reason of a write (created, updated,
// deleted) made with DryRun set.
const DryRunNote = " (dry run: not persisted)"

// Record completes res for o and logs it once, at info level, as
// "<component>: <action>" with attrs, the skip reason and the reason. In a
// dry run the reason of a write says that it was not persisted. It returns
// the completed res.
func Record(ctx context.Context, o registrykit.WriteOptions, component string, res registrykit.Result, attrs ...any) registrykit.Result {
	if o.DryRun && res.Action.Writes() {
		res.Reason += DryRunNote
	}
	if o.Logger == nil {
		return res
	}
	if res.Skip != "" {
		attrs = append(attrs, slog.String("skip", string(res.Skip)))
	}
	attrs = append(attrs, slog.String("reason", res.Reason))
	for _, w := range res.Warnings {
		attrs = append(attrs, slog.String("warning", w))
	}
	level := slog.LevelInfo
	if res.NeedsAttention() {
		level = slog.LevelWarn
	}
	o.Logger.Log(ctx, level, component+": "+string(res.Action), attrs...)
	return res
}
