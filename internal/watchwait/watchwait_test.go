package watchwait

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func cm(name, rv, value string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}, Data: map[string]string{"v": value}}
}

func TestUntilSeesTheWatchedChange(t *testing.T) {
	fw := watch.NewFake()
	var gotRV string
	go func() {
		fw.Add(cm("other", "2", "ready")) // another object: ignored
		fw.Modify(cm("x", "3", "ready"))
	}()
	err := Until(t.Context(), time.Hour, "x",
		func(context.Context) (*corev1.ConfigMap, bool, error) { return cm("x", "1", "pending"), true, nil },
		func(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
			gotRV = o.ResourceVersion
			if o.FieldSelector != "metadata.name=x" {
				t.Errorf("field selector = %q", o.FieldSelector)
			}
			return fw, nil
		},
		func(c *corev1.ConfigMap, deleted bool) bool {
			return !deleted && c.Data["v"] == "ready" && c.Name == "x"
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if gotRV != "1" {
		t.Errorf("watched from resourceVersion %q, want the read one", gotRV)
	}
}

func TestUntilPollsWhenWatchIsRefusedAndWaitsForCreation(t *testing.T) {
	reads := 0
	err := Until(t.Context(), time.Millisecond, "x",
		func(context.Context) (*corev1.ConfigMap, bool, error) {
			reads++
			if reads < 3 {
				return nil, false, nil // not created yet
			}
			return cm("x", "5", "ready"), true, nil
		},
		func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return nil, errors.New("forbidden")
		},
		func(c *corev1.ConfigMap, _ bool) bool { return c.Data["v"] == "ready" },
	)
	if err != nil || reads != 3 {
		t.Fatalf("err = %v after %d reads, want success on the 3rd", err, reads)
	}
}

func TestUntilReportsDeletionAndContextEnd(t *testing.T) {
	fw := watch.NewFake()
	go fw.Delete(cm("x", "2", ""))
	sawDelete := false
	err := Until(t.Context(), time.Hour, "x",
		func(context.Context) (*corev1.ConfigMap, bool, error) { return cm("x", "1", ""), true, nil },
		func(context.Context, metav1.ListOptions) (watch.Interface, error) { return fw, nil },
		func(_ *corev1.ConfigMap, deleted bool) bool { sawDelete = deleted; return deleted },
	)
	if err != nil || !sawDelete {
		t.Fatalf("err = %v, sawDelete = %v", err, sawDelete)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = Until(ctx, time.Hour, "x",
		func(context.Context) (*corev1.ConfigMap, bool, error) { return cm("x", "1", ""), true, nil },
		func(context.Context, metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
		func(*corev1.ConfigMap, bool) bool { return false },
	)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}

	readErr := errors.New("boom")
	err = Until(t.Context(), time.Hour, "x",
		func(context.Context) (*corev1.ConfigMap, bool, error) { return nil, false, readErr },
		nil, nil,
	)
	if !errors.Is(err, readErr) {
		t.Errorf("err = %v, want the read error", err)
	}
}
