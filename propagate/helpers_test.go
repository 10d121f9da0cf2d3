package propagate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

// testPassword is planted in the source; no output may hold it.
const testPassword = "s3cr3t-Pa55w0rd-default"

var source = types.NamespacedName{Namespace: "default", Name: "all-icr-io"}

func pullSecret(t *testing.T, ns, name string, servers ...string) *corev1.Secret {
	t.Helper()
	c := &dockerconfig.Config{}
	for _, s := range servers {
		c.Set(s, dockerconfig.Entry{Username: "iamapikey", Password: testPassword})
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: b},
	}
}

func namespace(name string, lbls map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
}

func serviceAccount(ns, name string, pull ...string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, p := range pull {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	return sa
}

// fixture is a running Propagator on a fake clientset.
type fixture struct {
	t    *testing.T
	kube *fake.Clientset
	p    *Propagator

	mu       sync.Mutex
	outcomes []Outcome
	done     chan error
}

// start runs a Propagator with opts on a fake holding objs and waits until
// its caches are synced. It is stopped on cleanup, and must return nil.
func start(t *testing.T, opts Options, objs ...any) *fixture {
	t.Helper()
	return startWith(t, opts, nil, objs...)
}

// startWith is start with setup called on the fake before it is seeded.
func startWith(t *testing.T, opts Options, setup func(*k8stesting.Fake), objs ...any) *fixture {
	t.Helper()
	kube := fakeKube()
	if setup != nil {
		setup(&kube.Fake)
	}
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Namespace:
			_, err = kube.CoreV1().Namespaces().Create(t.Context(), o, metav1.CreateOptions{})
		case *corev1.Secret:
			_, err = kube.CoreV1().Secrets(o.Namespace).Create(t.Context(), o, metav1.CreateOptions{})
		case *corev1.ServiceAccount:
			_, err = kube.CoreV1().ServiceAccounts(o.Namespace).Create(t.Context(), o, metav1.CreateOptions{})
		default:
			t.Fatalf("fixture: unsupported %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	kube.ClearActions()
	f := &fixture{t: t, kube: kube, done: make(chan error, 1)}
	opts.OnOutcome = func(o Outcome) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.outcomes = append(f.outcomes, o)
	}
	if opts.Resync == 0 {
		opts.Resync = time.Hour
	}
	p, err := New(kube, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.p = p
	ctx, cancel := context.WithCancel(context.Background())
	go func() { f.done <- p.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-f.done:
			if err != nil {
				t.Errorf("Start returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Start did not return within 10 s of cancel")
		}
	})
	f.eventually("caches synced", func() error { return p.Readyz(nil) })
	return f
}

// eventually polls cond until it returns nil, failing after 10 s.
func (f *fixture) eventually(what string, cond func() error) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: %v\noutcomes:\n%s", what, err, f.outcomeLines())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until the queue has been empty and idle for a while, so that
// a test can assert that nothing more happens.
func (f *fixture) settle() {
	f.t.Helper()
	quiet := 0
	deadline := time.Now().Add(10 * time.Second)
	for quiet < 20 {
		if f.p.queue.Len() == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			f.t.Fatal("queue never settled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fixture) outcomeLines() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, o := range f.outcomes {
		fmt.Fprintln(&b, "  "+o.String())
	}
	return b.String()
}

func (f *fixture) getSecret(ns, name string) (*corev1.Secret, error) {
	return f.kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
}

// copyIn waits for a current copy of the source in ns.
func (f *fixture) copyIn(ns string) *corev1.Secret {
	f.t.Helper()
	var got *corev1.Secret
	f.eventually("copy in "+ns, func() error {
		src, err := f.getSecret(source.Namespace, source.Name)
		if err != nil {
			return err
		}
		s, err := f.getSecret(ns, source.Name)
		if err != nil {
			return err
		}
		if s.Annotations[pullsecret.AnnotationCopiedFrom] != source.String() {
			return fmt.Errorf("copy lacks %s", pullsecret.AnnotationCopiedFrom)
		}
		if string(s.Data[corev1.DockerConfigJsonKey]) != string(src.Data[corev1.DockerConfigJsonKey]) {
			return errors.New("copy's data differs from the source")
		}
		got = s
		return nil
	})
	return got
}

// attached waits until ns/sa has exactly one reference to secret.
func (f *fixture) attached(ns, sa, secret string) {
	f.t.Helper()
	f.eventually("attached to "+ns+"/"+sa, func() error {
		got, err := f.kube.CoreV1().ServiceAccounts(ns).Get(context.Background(), sa, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n := count(got.ImagePullSecrets, secret); n != 1 {
			return fmt.Errorf("%d references to %s in %v", n, secret, got.ImagePullSecrets)
		}
		return nil
	})
}

func count(refs []corev1.LocalObjectReference, name string) int {
	n := 0
	for _, r := range refs {
		if r.Name == name {
			n++
		}
	}
	return n
}

// writes lists the fake's write actions as "verb resource ns/name", sorted,
// without Events (recorded asynchronously).
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.kube.Actions() {
		if a.GetResource().Resource == "events" {
			continue
		}
		switch a.GetVerb() {
		case "create", "update", "delete", "patch":
			name := ""
			switch a := a.(type) {
			case interface{ GetObject() runtime.Object }:
				name = a.GetObject().(metav1.Object).GetName()
			case interface{ GetName() string }:
				name = a.GetName()
			}
			out = append(out, fmt.Sprintf("%s %s %s/%s", a.GetVerb(), a.GetResource().Resource, a.GetNamespace(), name))
		}
	}
	slices.Sort(out)
	return out
}

// events returns the Events recorded so far as "type reason object: message".
func (f *fixture) events() []string {
	list, err := f.kube.CoreV1().Events("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, fmt.Sprintf("%s %s %s/%s: %s", e.Type, e.Reason, e.InvolvedObject.Namespace, e.InvolvedObject.Name, e.Message))
	}
	return out
}

// fakeKube is a fake clientset that, like the API server, gives every
// stored object a resourceVersion (and uid) and answers an update with a
// stale resourceVersion with a Conflict. The plain fake stores objects
// unversioned and takes every update.
func fakeKube() *fake.Clientset {
	kube := fake.NewClientset()
	var mu sync.Mutex
	rv := 0
	kube.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		m, err := meta.Accessor(a.(k8stesting.CreateAction).GetObject())
		if err != nil {
			return false, nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		rv++
		m.SetResourceVersion(strconv.Itoa(rv))
		if m.GetUID() == "" {
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", rv)))
		}
		return false, nil, nil
	})
	kube.PrependReactor("update", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.UpdateAction)
		m, err := meta.Accessor(u.GetObject())
		if err != nil {
			return false, nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		cur, err := kube.Tracker().Get(a.GetResource(), a.GetNamespace(), m.GetName())
		if err != nil {
			return false, nil, nil // the default reactor answers NotFound
		}
		cm, _ := meta.Accessor(cur)
		if m.GetResourceVersion() != "" && m.GetResourceVersion() != cm.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), m.GetName(), errors.New("the object has been modified"))
		}
		rv++
		m.SetResourceVersion(strconv.Itoa(rv))
		m.SetUID(cm.GetUID())
		return false, nil, nil
	})
	return kube
}

// metricValue sums every series of the metric family name.
func metricValue(t *testing.T, p *Propagator, name string) float64 {
	t.Helper()
	return metricValueWhere(t, p, name, "", "")
}

// metricValueWhere sums the series of the metric family name whose label
// has value (every series when label is empty): counters and gauges by
// value, histograms by sample count.
func metricValueWhere(t *testing.T, p *Propagator, name, label, value string) float64 {
	t.Helper()
	mfs, err := p.gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == label && l.GetValue() == value
			}
			if !match {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}
