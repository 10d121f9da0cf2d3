package pullsecret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/pager"
)

var src = types.NamespacedName{Namespace: "default", Name: "all-icr-io"}

// sourceSecret is the guide's all-icr-io secret in "default", with every
// kind of server-set metadata, and data that contains the word "default"
// (the route host and the password) — what `sed s/default/<ns>/g` breaks.
func sourceSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	c := &dockerconfig.Config{}
	c.Set("us.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: testPassword})
	c.Set("default-route-openshift-image-registry.apps.example.com", dockerconfig.Entry{Username: "default", Password: testPassword})
	ctrl := true
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "all-icr-io", Namespace: "default",
			UID: "8d5f-uid", ResourceVersion: "4711", Generation: 3,
			CreationTimestamp: metav1.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)),
			Labels:            map[string]string{"app": "icr"},
			Annotations: map[string]string{
				"note":      "from default",
				lastApplied: `{"data":{".dockerconfigjson":"..."},"metadata":{"namespace":"default"}}`,
			},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate}},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "o-uid", Controller: &ctrl}},
			Finalizers:      []string{"example.com/keep"},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: marshal(t, c)},
	}
}

func getSecret(t *testing.T, kube *fake.Clientset, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s/%s: %v", ns, name, err)
	}
	return s
}

func outcomes(r Report) map[string]registrykit.Action {
	m := map[string]registrykit.Action{}
	for _, o := range r.Outcomes {
		a := o.Result.Action
		if o.Err != nil {
			a = "error"
		}
		m[o.Namespace] = a
	}
	return m
}

func TestCopyCreatesFaithfulCopies(t *testing.T) {
	ctx := context.Background()
	s := sourceSecret(t)
	kube := fake.NewClientset(s)
	rep, err := Copy(ctx, kube, src, Targets{Namespaces: []string{"team-a", "team-b"}}, CopyOptions{})
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if diff := cmp.Diff(map[string]registrykit.Action{"team-a": registrykit.Created, "team-b": registrykit.Created}, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	got := getSecret(t, kube, "team-a", "all-icr-io")
	if !bytes.Equal(got.Data[corev1.DockerConfigJsonKey], s.Data[corev1.DockerConfigJsonKey]) {
		t.Errorf("data not byte-identical:\n got %s\nwant %s", got.Data[corev1.DockerConfigJsonKey], s.Data[corev1.DockerConfigJsonKey])
	}
	if !bytes.Contains(got.Data[corev1.DockerConfigJsonKey], []byte("default-route")) {
		t.Errorf("data lost the word default: %s", got.Data[corev1.DockerConfigJsonKey])
	}
	want := metav1.ObjectMeta{
		Name: "all-icr-io", Namespace: "team-a",
		Labels: map[string]string{"app": "icr"},
		Annotations: map[string]string{
			"note":                "from default", // metadata values are not rewritten either
			AnnotationCopiedFrom:  "default/all-icr-io",
			AnnotationContentHash: ContentHash(s),
		},
	}
	// What we sent: no server-set metadata at all (the fake server adds
	// its own resourceVersion and managedFields to the stored object).
	var sent *corev1.Secret
	for _, a := range kube.Actions() {
		if c, ok := a.(k8stesting.CreateActionImpl); ok && c.GetNamespace() == "team-a" {
			sent = c.GetObject().(*corev1.Secret)
		}
	}
	if diff := cmp.Diff(want, sent.ObjectMeta); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if got.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("type = %q", got.Type)
	}
	// The source is untouched.
	if diff := cmp.Diff(s, getSecret(t, kube, "default", "all-icr-io")); diff != "" {
		t.Errorf("source changed (-want +got):\n%s", diff)
	}
	assertNoSecret(t, err, rep)
}

func TestCopyKeepsLegacyType(t *testing.T) {
	legacy := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "default"},
		Type:       corev1.SecretTypeDockercfg,
		Data:       map[string][]byte{corev1.DockerConfigKey: []byte(`{"us.icr.io":{"auth":"dTpw"}}`)},
	}
	kube := fake.NewClientset(legacy)
	if _, err := Copy(context.Background(), kube, types.NamespacedName{Namespace: "default", Name: "old"}, Targets{Namespaces: []string{"team-a"}}, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	got := getSecret(t, kube, "team-a", "old")
	if got.Type != corev1.SecretTypeDockercfg || string(got.Data[corev1.DockerConfigKey]) != `{"us.icr.io":{"auth":"dTpw"}}` {
		t.Errorf("got type %q data %q", got.Type, got.Data)
	}
}

func TestCopyRerunReadsTwiceWritesNothing(t *testing.T) {
	ctx := context.Background()
	objs := []runtime.Object{sourceSecret(t)}
	var nss []string
	for i := range 50 {
		ns := fmt.Sprintf("team-%02d", i)
		nss = append(nss, ns)
		objs = append(objs, namespace(ns, map[string]string{"icr": "yes"}))
	}
	kube := fake.NewClientset(objs...)
	sel := labels.SelectorFromSet(labels.Set{"icr": "yes"})
	rep, err := Copy(ctx, kube, src, Targets{Selector: sel}, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[registrykit.Action]int{registrykit.Created: 50}, rep.Counts()); diff != "" {
		t.Errorf("first run counts (-want +got):\n%s", diff)
	}
	wantReads := []string{"get secrets default", "list namespaces ", "list secrets "}
	if diff := cmp.Diff(wantReads, readActions(kube)); diff != "" {
		t.Errorf("first run reads (-want +got):\n%s", diff)
	}
	// The existing copies are found through one cluster-wide list with a
	// field selector on the name, the namespaces with the label selector.
	for _, a := range kube.Actions() {
		if l, ok := a.(k8stesting.ListActionImpl); ok {
			switch l.GetResource().Resource {
			case "secrets":
				if got := l.GetListRestrictions().Fields.String(); got != "metadata.name=all-icr-io" {
					t.Errorf("secret list field selector = %q", got)
				}
				if l.ListOptions.Limit != pager.PageSize {
					t.Errorf("secret list limit = %d, want %d", l.ListOptions.Limit, pager.PageSize)
				}
			case "namespaces":
				if got := l.GetListRestrictions().Labels.String(); got != "icr=yes" {
					t.Errorf("namespace list label selector = %q", got)
				}
			}
		}
	}

	kube.ClearActions()
	rep, err = Copy(ctx, kube, src, Targets{Namespaces: nss}, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[registrykit.Action]int{registrykit.Unchanged: 50}, rep.Counts()); diff != "" {
		t.Errorf("rerun counts (-want +got):\n%s", diff)
	}
	if w := writeActions(kube); len(w) != 0 {
		t.Errorf("rerun writes = %v, want none", w)
	}
	if diff := cmp.Diff([]string{"get secrets default", "list secrets "}, readActions(kube)); diff != "" {
		t.Errorf("rerun reads (-want +got):\n%s", diff)
	}
}

func TestCopyExistingTargets(t *testing.T) {
	ctx := context.Background()
	s := sourceSecret(t)
	ours := func(mutate func(*corev1.Secret)) *corev1.Secret {
		c := s.DeepCopy()
		c.ObjectMeta = metav1.ObjectMeta{Name: s.Name, Namespace: "team-a", Labels: map[string]string{"app": "icr"}, Annotations: map[string]string{
			"note": "from default", AnnotationCopiedFrom: "default/all-icr-io", AnnotationContentHash: ContentHash(s)}}
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	foreign := pullSecret(t, "team-a", "all-icr-io", "other.example.com")
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: "team-a"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"k": []byte("v")}}
	// guide is what the guide's `oc get secret -o yaml | sed | oc create`
	// made: the source's registries and data, no provenance annotation.
	guide := s.DeepCopy()
	guide.ObjectMeta = metav1.ObjectMeta{Name: s.Name, Namespace: "team-a", Annotations: map[string]string{lastApplied: "{}"}}
	tests := []struct {
		name       string
		existing   *corev1.Secret
		adoption   Adoption
		want       registrykit.Action
		wantWrites []string
		wantData   bool // target holds the source's data afterwards
	}{
		{"current copy", ours(nil), LeaveForeign, registrykit.Unchanged, nil, true},
		{"stale copy (source changed)", ours(func(c *corev1.Secret) {
			c.Data = pullSecret(t, "", "", "old.example.com").Data
			c.Annotations[AnnotationContentHash] = "sha256:old"
		}), LeaveForeign, registrykit.Updated, []string{"update secrets team-a/all-icr-io"}, true},
		{"copy edited by hand, hash kept", ours(func(c *corev1.Secret) {
			c.Data = pullSecret(t, "", "", "old.example.com").Data
		}), LeaveForeign, registrykit.Updated, []string{"update secrets team-a/all-icr-io"}, true},
		{"not ours", foreign, LeaveForeign, registrykit.Skipped, nil, false},
		{"guide copy, left alone", guide, LeaveForeign, registrykit.Skipped, nil, true},
		{"guide copy, adopted", guide, AdoptForeign, registrykit.Updated, []string{"update secrets team-a/all-icr-io"}, true},
		{"not ours, other registries, not adopted", foreign, AdoptForeign, registrykit.Skipped, nil, false},
		{"copied from another source", ours(func(c *corev1.Secret) {
			c.Annotations[AnnotationCopiedFrom] = "other/all-icr-io"
		}), AdoptForeign, registrykit.Skipped, nil, true},
		{"not ours, overwritten", foreign, OverwriteForeign, registrykit.Updated, []string{"update secrets team-a/all-icr-io"}, true},
		{"other type, overwritten by replacing", opaque, OverwriteForeign, registrykit.Updated,
			[]string{"delete secrets team-a/all-icr-io", "create secrets team-a/all-icr-io"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(s, tt.existing)
			rep, err := Copy(ctx, kube, src, Targets{Namespaces: []string{"team-a"}}, CopyOptions{Adoption: tt.adoption})
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if got := rep.Outcomes[0].Result; got.Action != tt.want {
				t.Errorf("result = %+v, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantWrites, writeActions(kube)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			got := getSecret(t, kube, "team-a", "all-icr-io")
			if tt.wantData != bytes.Equal(got.Data[corev1.DockerConfigJsonKey], s.Data[corev1.DockerConfigJsonKey]) {
				t.Errorf("target data equal to source = %v, want %v", !tt.wantData, tt.wantData)
			}
			if tt.want == registrykit.Updated && (got.Annotations[AnnotationCopiedFrom] != "default/all-icr-io" || got.Annotations[AnnotationContentHash] != ContentHash(s) || got.Type != s.Type) {
				t.Errorf("updated target metadata = %v type %q", got.Annotations, got.Type)
			}
			res := rep.Outcomes[0].Result
			if foreignSkip := res.Action == registrykit.Skipped; foreignSkip != (len(rep.Warnings()) == 1) || foreignSkip != (res.Skip == registrykit.SkipForeign) {
				t.Errorf("result %v, warnings %v: a skipped foreign secret must be the one warning", res, rep.Warnings())
			}
			if len(rep.Warnings()) > 0 && !strings.Contains(rep.String(), "warning: team-a: skipped [foreign]") {
				t.Errorf("String() = %q, want the warning", rep.String())
			}
		})
	}
}

func terminatingErr(ns string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: 403, Reason: metav1.StatusReasonForbidden,
		Message: fmt.Sprintf("secrets is forbidden: unable to create new content in namespace %s because it is being terminated", ns),
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause, Field: "metadata.namespace"}}},
	}}
}

func TestCopyPerNamespaceFailuresDoNotStopTheRest(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(sourceSecret(t))
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a.GetNamespace() {
		case "gone":
			return true, nil, apierrors.NewNotFound(corev1.Resource("namespaces"), "gone")
		case "dying":
			return true, nil, terminatingErr("dying")
		case "locked":
			return true, nil, apierrors.NewForbidden(secretsGR, "all-icr-io", errors.New("RBAC says no"))
		}
		return false, nil, nil
	})
	rep, err := Copy(ctx, kube, src, Targets{Namespaces: []string{"gone", "dying", "locked", "ok-1", "ok-2", "default"}}, CopyOptions{})
	if err == nil {
		t.Fatal("Copy: want the joined per-namespace error")
	}
	want := map[string]registrykit.Action{"gone": "error", "dying": registrykit.Skipped, "locked": "error", "ok-1": registrykit.Created, "ok-2": registrykit.Created, "default": registrykit.Skipped}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrNotFound) || !apierrors.IsNotFound(rep.Outcomes[2].Err) || !apierrors.IsForbidden(rep.Outcomes[3].Err) {
		t.Errorf("err = %v; want it to match ErrNotFound, with IsNotFound/IsForbidden per outcome", err)
	}
	if !contains(err.Error(), "copy secret default/all-icr-io to gone: namespace gone not found") {
		t.Errorf("err does not name the object: %v", err)
	}
	if diff := cmp.Diff(err.Error(), rep.Err().Error()); diff != "" {
		t.Errorf("returned error differs from Report.Err (-ret +report):\n%s", diff)
	}
	if diff := cmp.Diff(map[registrykit.Action]int{registrykit.Created: 2, registrykit.Skipped: 2, registrykit.Failed: 2}, rep.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if got := rep.String(); got != "created=2 failed=2 skipped=2" {
		t.Errorf("String() = %q", got)
	}
	assertNoSecret(t, err, rep)
}

func TestCopyAllNamespaces(t *testing.T) {
	ctx := context.Background()
	dying := namespace("dying", nil)
	dying.Status.Phase = corev1.NamespaceTerminating
	kube := fake.NewClientset(sourceSecret(t), namespace("default", nil), namespace("team-a", nil), dying)
	rep, err := Copy(ctx, kube, src, Targets{All: true, Namespaces: []string{"typo"}}, CopyOptions{})
	if err == nil || !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want NotFound for the named namespace that is not listed", err)
	}
	want := map[string]registrykit.Action{"default": registrykit.Skipped, "dying": registrykit.Skipped, "team-a": registrykit.Created, "typo": "error"}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"create secrets team-a/all-icr-io"}, writeActions(kube)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

func TestCopyRenameIntoSourceNamespace(t *testing.T) {
	kube := fake.NewClientset(sourceSecret(t))
	rep, err := Copy(context.Background(), kube, src, Targets{Namespaces: []string{"default"}}, CopyOptions{Name: "icr-copy"})
	if err != nil || rep.Outcomes[0].Result.Action != registrykit.Created {
		t.Fatalf("Copy = %+v, %v", rep, err)
	}
	getSecret(t, kube, "default", "icr-copy")
}

// A few named targets are read with one GET each, sent together with the
// source's, and a create goes only where the GET found nothing; a
// forbidden cluster-wide List changes nothing there. When one of those
// early reads fails (other than NotFound), nothing is decided from them:
// every target is read again before it is written.
func TestCopyFewTargetsReads(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures func(*fake.Clientset)
		wantGets []string
	}{
		{"list forbidden", func(kube *fake.Clientset) {
			failN(kube, "list", "secrets", 100, apierrors.NewForbidden(secretsGR, "", errors.New("cluster-wide list not allowed")))
		}, []string{"default", "team-a", "team-b"}},
		{"early read fails", func(kube *fake.Clientset) {
			var failed atomic.Bool
			kube.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetNamespace() == "team-b" && failed.CompareAndSwap(false, true) {
					return true, nil, apierrors.NewServiceUnavailable("etcd leader changed")
				}
				return false, nil, nil
			})
		}, []string{"default", "team-a", "team-a", "team-b", "team-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := pullSecret(t, "team-b", "all-icr-io", "us.icr.io") // not ours
			kube := fake.NewClientset(sourceSecret(t), existing)
			tc.failures(kube)
			rep, err := Copy(context.Background(), kube, src, Targets{Namespaces: []string{"team-a", "team-b"}}, CopyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]registrykit.Action{"team-a": registrykit.Created, "team-b": registrykit.Skipped}, outcomes(rep)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			var gets []string
			for _, a := range kube.Actions() {
				if a.GetVerb() == "get" {
					gets = append(gets, a.GetNamespace())
				}
			}
			slices.Sort(gets) // the source and the targets are read concurrently
			if diff := cmp.Diff(tc.wantGets, gets); diff != "" {
				t.Errorf("GETs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"create secrets team-a/all-icr-io"}, writeActions(kube)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

// quotaExceeded is what ResourceQuota admission answers a create in a
// namespace whose secret count is at its limit: it runs before storage, so
// the server never gets to say AlreadyExists.
func quotaExceeded(ns string) error {
	return apierrors.NewForbidden(secretsGR, "all-icr-io",
		fmt.Errorf("exceeded quota: secrets-%s, requested: count/secrets=1, used: count/secrets=10, limited: count/secrets=10", ns))
}

// TestCopyRerunAtFullQuotaWithoutList: with only the documented rules (no
// cluster-wide List), a rerun in a namespace whose secret quota is used up
// finds the current copy by reading, and writes nothing. A create there
// would be refused by quota admission (or any denying webhook) before the
// server could answer AlreadyExists.
func TestCopyRerunAtFullQuotaWithoutList(t *testing.T) {
	ctx := context.Background()
	s := sourceSecret(t)
	kube := fake.NewClientset(s)
	failN(kube, "list", "secrets", 100, apierrors.NewForbidden(secretsGR, "", errors.New("cluster-wide list not allowed")))
	to := Targets{Namespaces: []string{"full", "team-a"}}
	if _, err := Copy(ctx, kube, src, to, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "full" {
			return true, nil, quotaExceeded("full")
		}
		return false, nil, nil
	})
	kube.ClearActions()
	rep, err := Copy(ctx, kube, src, to, CopyOptions{})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if diff := cmp.Diff(map[string]registrykit.Action{"full": registrykit.Unchanged, "team-a": registrykit.Unchanged}, outcomes(rep)); diff != "" {
		t.Errorf("rerun outcomes (-want +got):\n%s", diff)
	}
	if w := writeActions(kube); len(w) != 0 {
		t.Errorf("rerun writes = %v, want none", w)
	}
}

func TestCopyConflictReReads(t *testing.T) {
	s := sourceSecret(t)
	stale := s.DeepCopy()
	stale.ObjectMeta = metav1.ObjectMeta{Name: s.Name, Namespace: "team-a", Annotations: map[string]string{AnnotationCopiedFrom: "default/all-icr-io"}}
	stale.Data = pullSecret(t, "", "", "old.example.com").Data
	kube := fake.NewClientset(s, stale)
	calls := failN(kube, "update", "secrets", 1, conflict(secretsGR, "all-icr-io"))
	rep, err := Copy(context.Background(), kube, src, Targets{Namespaces: []string{"team-a"}}, CopyOptions{})
	if err != nil || rep.Outcomes[0].Result.Action != registrykit.Updated {
		t.Fatalf("Copy = %+v, %v", rep, err)
	}
	if calls.Load() != 2 {
		t.Errorf("updates = %d, want 2 (conflict, then success)", calls.Load())
	}
}

func TestCopyBoundedConcurrency(t *testing.T) {
	for _, conc := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			kube := fake.NewClientset(sourceSecret(t))
			var inFlight, peak atomic.Int32
			kube.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
				n := inFlight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				inFlight.Add(-1)
				return false, nil, nil
			})
			var nss []string
			for i := range 40 {
				nss = append(nss, fmt.Sprintf("ns-%d", i))
			}
			if _, err := Copy(context.Background(), kube, src, Targets{Namespaces: nss}, CopyOptions{Concurrency: conc}); err != nil {
				t.Fatal(err)
			}
			limit := int32(conc)
			if conc == 0 {
				limit = DefaultConcurrency
			}
			if peak.Load() > limit || peak.Load() < 1 {
				t.Errorf("peak concurrent creates = %d, want 1..%d", peak.Load(), limit)
			}
		})
	}
}

func TestCopyRejectsBadInputBeforeWriting(t *testing.T) {
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: "default"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}
	broken := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: "default"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":`)}}
	tests := []struct {
		name  string
		from  types.NamespacedName
		to    Targets
		opts  CopyOptions
		check func(error) bool
	}{
		{"missing source", types.NamespacedName{Namespace: "default", Name: "nope"}, Targets{Namespaces: []string{"a"}}, CopyOptions{},
			func(err error) bool { return errors.Is(err, ErrNotFound) && apierrors.IsNotFound(err) }},
		{"opaque source", types.NamespacedName{Namespace: "default", Name: "opaque"}, Targets{Namespaces: []string{"a"}}, CopyOptions{},
			func(err error) bool {
				var np *NotPullSecretError
				return errors.Is(err, ErrNotPullSecret) && errors.As(err, &np) && np.Type == "Opaque"
			}},
		{"unparsable source", types.NamespacedName{Namespace: "default", Name: "broken"}, Targets{Namespaces: []string{"a"}}, CopyOptions{},
			func(err error) bool { return err != nil && !errors.Is(err, registrykit.ErrInvalid) }},
		{"no targets", src, Targets{}, CopyOptions{}, func(err error) bool {
			return errors.Is(err, registrykit.ErrInvalid) && slices.Equal(fieldPaths(err), []string{"targets.namespaces"})
		}},
		{"selector matches nothing", src, Targets{Selector: labels.SelectorFromSet(labels.Set{"x": "y"})}, CopyOptions{},
			func(err error) bool { return errors.Is(err, ErrNoTargets) }},
		{"bad names, all reported", types.NamespacedName{Namespace: "Default", Name: "a_b"}, Targets{Namespaces: []string{"ok", "NOT OK"}}, CopyOptions{Name: "x/y", Concurrency: -1},
			func(err error) bool {
				return errors.Is(err, registrykit.ErrInvalid) && slices.Equal(fieldPaths(err),
					[]string{"from.namespace", "from.name", "targets.namespaces[1]", "name", "concurrency"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(sourceSecret(t), opaque, broken)
			_, err := Copy(context.Background(), kube, tt.from, tt.to, tt.opts)
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
			if w := writeActions(kube); len(w) != 0 {
				t.Errorf("writes on bad input: %v", w)
			}
		})
	}
}

func TestCopyDryRun(t *testing.T) {
	kube := fake.NewClientset(sourceSecret(t))
	var opts []metav1.CreateOptions
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts = append(opts, a.(k8stesting.CreateActionImpl).CreateOptions)
		return true, a.(k8stesting.CreateActionImpl).Object, nil // the server persists nothing
	})
	rep, err := Copy(context.Background(), kube, src, Targets{Namespaces: []string{"a"}}, CopyOptions{WriteOptions: registrykit.WriteOptions{DryRun: true, FieldManager: "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]metav1.CreateOptions{{DryRun: []string{"All"}, FieldManager: "ops"}}, opts); diff != "" {
		t.Errorf("create options (-want +got):\n%s", diff)
	}
	if !contains(rep.Outcomes[0].Result.Reason, "dry run") {
		t.Errorf("reason = %q", rep.Outcomes[0].Result.Reason)
	}
}

// TestCopyReplaceCreateFails: replacing a target of another type deletes
// it first (a secret's type is immutable); when the create that follows
// fails, the namespace holds no secret of that name, and the error says so.
func TestCopyReplaceCreateFails(t *testing.T) {
	ctx := context.Background()
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: "team-a"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"k": []byte("v")}}
	kube := fake.NewClientset(sourceSecret(t), opaque)
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, quotaExceeded(a.GetNamespace())
	})
	rep, err := Copy(ctx, kube, src, Targets{Namespaces: []string{"team-a"}}, CopyOptions{Adoption: OverwriteForeign})
	if err == nil {
		t.Fatal("Copy: no error although the create failed")
	}
	if diff := cmp.Diff([]string{"delete secrets team-a/all-icr-io", "create secrets team-a/all-icr-io"}, writeActions(kube)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if _, gerr := kube.CoreV1().Secrets("team-a").Get(ctx, "all-icr-io", metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
		t.Fatalf("the old secret is still there (get: %v); the test does not show the gap", gerr)
	}
	for _, want := range []string{"copy secret default/all-icr-io to team-a", "deleted", "type Opaque", "exceeded quota"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !errors.Is(err, ErrDeletedNotRecreated) || !apierrors.IsForbidden(err) {
		t.Errorf("err = %v; want it to match ErrDeletedNotRecreated and apierrors.IsForbidden", err)
	}
	o := rep.Outcomes[0]
	if o.Result.Action != registrykit.Deleted || o.Err == nil {
		t.Errorf("outcome = %+v; want the deletion recorded with the error", o)
	}
	assertNoSecret(t, err, rep)
}

// TestCopyLabelsFollowTheSource: an updated copy carries exactly the
// source's labels, so a label removed from the source is removed from the
// copies too; a copy whose data is current but whose labels drifted is
// updated.
func TestCopyLabelsFollowTheSource(t *testing.T) {
	ctx := context.Background()
	s := sourceSecret(t) // labels {"app": "icr"}
	copyWith := func(lbls map[string]string, data map[string][]byte, hash string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: "team-a", Labels: lbls,
				Annotations: map[string]string{"note": "from default", AnnotationCopiedFrom: "default/all-icr-io", AnnotationContentHash: hash}},
			Type: s.Type, Data: data,
		}
	}
	stale := pullSecret(t, "", "", "old.example.com").Data
	for _, tt := range []struct {
		name     string
		existing *corev1.Secret
		want     registrykit.Action
	}{
		{"stale data, label removed at source", copyWith(map[string]string{"app": "icr", "tier": "gone"}, stale, "sha256:old"), registrykit.Updated},
		{"current data, label removed at source", copyWith(map[string]string{"app": "icr", "tier": "gone"}, s.Data, ContentHash(s)), registrykit.Updated},
		{"current data, label changed at source", copyWith(map[string]string{"app": "old"}, s.Data, ContentHash(s)), registrykit.Updated},
		{"current data, label added at source", copyWith(nil, s.Data, ContentHash(s)), registrykit.Updated},
		{"current", copyWith(map[string]string{"app": "icr"}, s.Data, ContentHash(s)), registrykit.Unchanged},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(s, tt.existing)
			rep, err := Copy(ctx, kube, src, Targets{Namespaces: []string{"team-a"}}, CopyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Outcomes[0].Result.Action; got != tt.want {
				t.Errorf("action = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(s.Labels, getSecret(t, kube, "team-a", "all-icr-io").Labels); diff != "" {
				t.Errorf("copy's labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCopyOnOutcomeReportsEachNamespaceOnce(t *testing.T) {
	s := sourceSecret(t)
	var objs []runtime.Object
	objs = append(objs, s)
	var names []string
	for i := range 30 {
		names = append(names, fmt.Sprintf("ns-%02d", i))
	}
	kube := fake.NewClientset(objs...)
	var mu sync.Mutex
	inCallback := false
	seen := map[string]registrykit.Action{}
	rep, err := Copy(t.Context(), kube, src, Targets{Namespaces: names}, CopyOptions{Concurrency: 4, OnOutcome: func(o Outcome) {
		mu.Lock()
		if inCallback {
			t.Error("OnOutcome called concurrently")
		}
		inCallback = true
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inCallback = false
		if _, dup := seen[o.Namespace]; dup {
			t.Errorf("%s reported twice", o.Namespace)
		}
		seen[o.Namespace] = o.Result.Action
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(outcomes(rep), func() map[string]registrykit.Action {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}()); diff != "" {
		t.Errorf("OnOutcome differs from the Report (-report +callback):\n%s", diff)
	}
}

// TestCopyAllExcludesSystemNamespaces: "all" (and a selector) leaves out
// kube-* and openshift-* unless Targets.Exclude says otherwise; they are
// reported Skipped with SkipExcluded, a harmless skip. A namespace named
// explicitly is always a target.
func TestCopyAllExcludesSystemNamespaces(t *testing.T) {
	ctx := context.Background()
	nss := []string{"default", "team-a", "kube-system", "kube-public", "kube-node-lease", "openshift-config", "openshift-operators", "kubeflow"}
	tests := []struct {
		name    string
		to      Targets
		created []string
	}{
		{"all", Targets{All: true}, []string{"kubeflow", "team-a"}},
		{"all, a system namespace named", Targets{All: true, Namespaces: []string{"kube-system"}}, []string{"kube-system", "kubeflow", "team-a"}},
		{"selector", Targets{Selector: labels.SelectorFromSet(labels.Set{"icr": "yes"})}, []string{"kubeflow", "team-a"}},
		{"all, nothing excluded", Targets{All: true, Exclude: []string{}}, []string{"kube-node-lease", "kube-public", "kube-system", "kubeflow", "openshift-config", "openshift-operators", "team-a"}},
		{"all, own exclusion", Targets{All: true, Exclude: []string{"team-*"}}, []string{"kube-node-lease", "kube-public", "kube-system", "kubeflow", "openshift-config", "openshift-operators"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{sourceSecret(t)}
			for _, ns := range nss {
				objs = append(objs, namespace(ns, map[string]string{"icr": "yes"}))
			}
			kube := fake.NewClientset(objs...)
			rep, err := Copy(ctx, kube, src, tt.to, CopyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var created []string
			for _, o := range rep.Outcomes {
				switch {
				case o.Result.Action == registrykit.Created:
					created = append(created, o.Namespace)
				case o.Result.Skip == registrykit.SkipExcluded:
					if o.Result.NeedsAttention() || !contains(o.Result.Reason, "excluded") {
						t.Errorf("%s: excluded result %+v", o.Namespace, o.Result)
					}
				case o.Namespace != "default":
					t.Errorf("%s: %+v, %v", o.Namespace, o.Result, o.Err)
				}
			}
			if diff := cmp.Diff(tt.created, created); diff != "" {
				t.Errorf("created in (-want +got):\n%s", diff)
			}
		})
	}
	// The globs are checked before any call.
	kube := fake.NewClientset(sourceSecret(t))
	if _, err := Copy(ctx, kube, src, Targets{All: true, Exclude: []string{"[kube"}}, CopyOptions{}); !errors.Is(err, registrykit.ErrInvalid) || !slices.Equal(fieldPaths(err), []string{"targets.exclude[0]"}) {
		t.Errorf("bad glob: err = %v", err)
	}
	if r := readActions(kube); len(r) != 0 {
		t.Errorf("bad glob: reads %v", r)
	}
}

func TestExcludedNamespace(t *testing.T) {
	for _, tt := range []struct {
		ns      string
		exclude []string
		want    bool
	}{
		{"kube-system", nil, true},
		{"openshift-config", nil, true},
		{"openshift", nil, false},
		{"kubeflow", nil, false},
		{"team-a", nil, false},
		{"kube-system", []string{}, false},
		{"team-a", []string{"team-*"}, true},
		{"kube-system", []string{"team-*"}, false},
	} {
		if got := ExcludedNamespace(tt.ns, tt.exclude); got != tt.want {
			t.Errorf("ExcludedNamespace(%q, %q) = %v, want %v", tt.ns, tt.exclude, got, tt.want)
		}
	}
}
