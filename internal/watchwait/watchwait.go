// Package watchwait waits for one named object to reach a state: it reads
// the object, watches it from that resourceVersion, and re-reads it every
// resync period, so a missed or failed watch delays the answer by at most
// that long and a caller without the watch verb still gets one (by polling).
package watchwait

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// Object is the part of an API object Until needs.
type Object interface {
	GetName() string
	GetResourceVersion() string
}

// Until calls decide with every version of the object named name that it
// sees, until decide returns true. get reads the object; found=false means
// it does not exist (yet), and decide is not called for it. watchFn is the
// typed client's Watch. Deleted events reach decide with deleted=true.
//
// It returns nil once decide returned true, get's error as is, or ctx's
// error when ctx ends first. Callers keep decide's findings (a host, a
// digest, a typed error) in their own variables.
func Until[T Object](ctx context.Context, resync time.Duration, name string,
	get func(context.Context) (obj T, found bool, err error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	decide func(obj T, deleted bool) bool,
) error {
	ticker := time.NewTicker(resync)
	defer ticker.Stop()
	for {
		obj, found, err := get(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		rv := ""
		if found {
			if decide(obj, false) {
				return nil
			}
			rv = obj.GetResourceVersion()
		}
		w, err := watchFn(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: rv,
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w = watch.NewEmptyWatch() // poll on the ticker instead
		}
		done := drain(ctx, w, ticker.C, name, decide)
		w.Stop()
		if done {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// drain consumes watch events until decide says done, the watch ends or
// fails, the ticker fires or ctx ends; false means "re-read and watch again".
func drain[T Object](ctx context.Context, w watch.Interface, tick <-chan time.Time, name string, decide func(T, bool) bool) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick:
			return false
		case ev, ok := <-w.ResultChan():
			if !ok {
				// An empty or closed watch: wait for the tick instead of spinning.
				select {
				case <-ctx.Done():
				case <-tick:
				}
				return false
			}
			if ev.Type == watch.Error {
				return false
			}
			obj, isT := ev.Object.(T)
			if !isT || obj.GetName() != name {
				continue
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if decide(obj, false) {
					return true
				}
			case watch.Deleted:
				if decide(obj, true) {
					return true
				}
			}
		}
	}
}
