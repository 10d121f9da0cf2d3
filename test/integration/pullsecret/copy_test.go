package pullsecret_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/rbac"
	"github.com/registrykit/registrykit/test/integration/harness"
)

func TestApplyRealServer(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	kube, counter := counted(t)
	ctx := t.Context()

	// Dry run goes to the server (dryRun=All) and stores nothing.
	res, err := pullsecret.Apply(ctx, kube, ns, "icr", icr(t, "us.icr.io"), registrykit.WriteOptions{DryRun: true})
	if err != nil || res.Action != registrykit.Created {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if _, err := env.Kube.CoreV1().Secrets(ns).Get(ctx, "icr", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run stored the secret: %v", err)
	}
	if counter.Count("create", "secrets") != 1 {
		t.Errorf("dry run did not reach the server: %v", counter.Snapshot())
	}

	steps := []struct {
		cfg  *dockerconfig.Config
		want registrykit.Action
	}{
		{icr(t, "us.icr.io"), registrykit.Created},
		{icr(t, "us.icr.io"), registrykit.Unchanged},
		{icr(t, "us.icr.io", "de.icr.io"), registrykit.Updated},
	}
	for _, s := range steps {
		counter.Reset()
		res, err := pullsecret.Apply(ctx, kube, ns, "icr", s.cfg, registrykit.WriteOptions{})
		if err != nil || res.Action != s.want {
			t.Fatalf("Apply = %+v, %v; want %s", res, err, s.want)
		}
		if s.want == registrykit.Unchanged && writes(counter, "secrets") != 0 {
			t.Errorf("unchanged Apply wrote: %v", counter.Snapshot())
		}
	}
	got := getSecret(t, ns, "icr")
	if got.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("type = %s", got.Type)
	}
	var managers []string
	for _, m := range got.ManagedFields {
		managers = append(managers, m.Manager)
	}
	if diff := cmp.Diff([]string{"registrykit"}, managers); diff != "" {
		t.Errorf("field managers (-want +got):\n%s", diff)
	}
}

func TestCopyRealServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srcNS, a, b, dying := env.Namespace(t), env.Namespace(t), env.Namespace(t), env.Namespace(t)
	data := docBytes(t, icr(t, "us.icr.io", "default-route-openshift-image-registry.apps.example.com"))
	createSecret(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: srcNS, Labels: map[string]string{"app": "icr"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"namespace":"` + srcNS + `"}`}},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: data},
	})
	// A namespace being deleted stays Terminating in this tier (no
	// namespace controller): exactly the state to test.
	if err := env.Kube.CoreV1().Namespaces().Delete(ctx, dying, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A same-named secret we did not make.
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: b},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, icr(t, "other.example.com"))}})

	kube, counter := counted(t)
	from := types.NamespacedName{Namespace: srcNS, Name: "all-icr-io"}
	to := pullsecret.Targets{Namespaces: []string{a, b, dying, "no-such-namespace-x1"}}
	rep, err := pullsecret.Copy(ctx, kube, from, to, pullsecret.CopyOptions{})
	var nf *pullsecret.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "namespace" || nf.Name != "no-such-namespace-x1" {
		t.Fatalf("err = %v, want only the missing namespace", err)
	}
	want := map[string]registrykit.Action{a: registrykit.Created, b: registrykit.Skipped, dying: registrykit.Skipped, "no-such-namespace-x1": "error"}
	if diff := cmp.Diff(want, outcomeMap(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	// Few targets: each is read with a GET, and nothing is listed.
	if got := reads(counter, "secrets", "namespaces"); got != 1+len(to.Namespaces) {
		t.Errorf("reads = %d, want %d (source GET + one GET per target): %v", got, 1+len(to.Namespaces), counter.Snapshot())
	}
	cp := getSecret(t, a, "all-icr-io")
	if !bytes.Equal(cp.Data[corev1.DockerConfigJsonKey], data) {
		t.Errorf("data changed by the copy")
	}
	if !bytes.Contains(cp.Data[corev1.DockerConfigJsonKey], []byte("default-route")) {
		t.Errorf("the word default was rewritten inside data")
	}
	if cp.Annotations[pullsecret.AnnotationCopiedFrom] != srcNS+"/all-icr-io" || cp.Labels["app"] != "icr" {
		t.Errorf("copy metadata: labels %v annotations %v", cp.Labels, cp.Annotations)
	}
	if _, ok := cp.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		t.Errorf("last-applied-configuration was copied")
	}
	if theirs := getSecret(t, b, "all-icr-io"); theirs.Annotations[pullsecret.AnnotationCopiedFrom] != "" {
		t.Errorf("a foreign secret was changed")
	}

	// Rerun: no writes.
	counter.Reset()
	rep, _ = pullsecret.Copy(ctx, kube, from, pullsecret.Targets{Namespaces: []string{a, b}}, pullsecret.CopyOptions{})
	if c := rep.Counts(); c[registrykit.Unchanged] != 1 || c[registrykit.Skipped] != 1 || writes(counter, "secrets") != 0 {
		t.Errorf("rerun: %v, requests %v", c, counter.Snapshot())
	}

	// OverwriteForeign takes over the foreign one.
	rep, err = pullsecret.Copy(ctx, kube, from, pullsecret.Targets{Namespaces: []string{b}}, pullsecret.CopyOptions{Adoption: pullsecret.OverwriteForeign})
	if err != nil || rep.Outcomes[0].Result.Action != registrykit.Updated {
		t.Fatalf("overwrite = %+v, %v", rep, err)
	}
	if !bytes.Equal(getSecret(t, b, "all-icr-io").Data[corev1.DockerConfigJsonKey], data) {
		t.Errorf("overwrite did not copy the data")
	}
}

func TestCopyBySelectorOnRealServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srcNS := env.Namespace(t)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sel-src", Namespace: srcNS},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, icr(t, "us.icr.io"))}})
	var targets []string
	for range 3 {
		ns := env.Namespace(t)
		targets = append(targets, ns)
		n, err := env.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Labels["pull-from"] = srcNS
		if _, err := env.Kube.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kube, counter := counted(t)
	sel := labels.SelectorFromSet(labels.Set{"pull-from": srcNS})
	rep, err := pullsecret.Copy(ctx, kube, types.NamespacedName{Namespace: srcNS, Name: "sel-src"}, pullsecret.Targets{Selector: sel}, pullsecret.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]registrykit.Action{}
	for _, ns := range targets {
		want[ns] = registrykit.Created
	}
	if diff := cmp.Diff(want, outcomeMap(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if got := reads(counter, "secrets", "namespaces"); got != 2+len(targets) {
		t.Errorf("reads = %d, want %d (source, namespace List, a GET per target): %v", got, 2+len(targets), counter.Snapshot())
	}
}

// With more than DirectReadTargets targets, Copy lists the copies once,
// metadata only: a current copy is judged by its content-hash annotation
// and not read; a stale one is read in full, then updated.
func TestCopyManyTargetsReadsMetadata(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srcNS := env.Namespace(t)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "many-src", Namespace: srcNS},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, icr(t, "us.icr.io"))}})
	label := map[string]string{"pull-many": srcNS}
	n := pullsecret.DirectReadTargets + 4
	var targets []string
	for range n {
		ns := env.Namespace(t)
		targets = append(targets, ns)
		cur, err := env.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Labels["pull-many"] = srcNS
		if _, err := env.Kube.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kube, counter := counted(t)
	from := types.NamespacedName{Namespace: srcNS, Name: "many-src"}
	to := pullsecret.Targets{Selector: labels.SelectorFromSet(label)}
	rep, err := pullsecret.Copy(ctx, kube, from, to, pullsecret.CopyOptions{})
	if err != nil || rep.Counts()[registrykit.Created] != n {
		t.Fatalf("first run: %v, %v", rep.Counts(), err)
	}
	if snap := counter.Snapshot(); snap["list secrets"] != 1 || snap["get secrets"] != 1 {
		t.Errorf("first run: want one List of the copies and the source GET: %v", snap)
	}

	stale := getSecret(t, targets[0], "many-src")
	stale.Annotations[pullsecret.AnnotationContentHash] = "sha256:old"
	if _, err := env.Kube.CoreV1().Secrets(targets[0]).Update(ctx, stale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	rep, err = pullsecret.Copy(ctx, kube, from, to, pullsecret.CopyOptions{})
	if c := rep.Counts(); err != nil || c[registrykit.Updated] != 1 || c[registrykit.Unchanged] != n-1 {
		t.Fatalf("rerun: %v, %v", c, err)
	}
	if snap := counter.Snapshot(); snap["list secrets"] != 1 || snap["get secrets"] != 2 || writes(counter, "secrets") != 1 {
		t.Errorf("rerun: want one List, the source GET, one GET of the stale copy and one write: %v", snap)
	}
}

func TestCopyBadInputOnRealServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := env.Namespace(t)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: ns}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, icr(t, "us.icr.io"))}})
	kube, counter := counted(t)
	target := pullsecret.Targets{Namespaces: []string{ns}}
	_, err := pullsecret.Copy(ctx, kube, types.NamespacedName{Namespace: ns, Name: "missing"}, target, pullsecret.CopyOptions{Name: "x"})
	if !errors.Is(err, pullsecret.ErrNotFound) || !apierrors.IsNotFound(err) {
		t.Errorf("missing source: %v", err)
	}
	_, err = pullsecret.Copy(ctx, kube, types.NamespacedName{Namespace: ns, Name: "opaque"}, target, pullsecret.CopyOptions{Name: "x"})
	if !errors.Is(err, pullsecret.ErrNotPullSecret) {
		t.Errorf("opaque source: %v", err)
	}
	if writes(counter, "secrets") != 0 {
		t.Errorf("bad input wrote: %v", counter.Snapshot())
	}
}

// TestCopyWithoutClusterWideList runs Copy as a user who may read and write
// secrets only in the namespaces involved: the cluster-wide List is
// forbidden, and Copy reads each target before it writes.
func TestCopyWithoutClusterWideList(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srcNS, a := env.Namespace(t), env.Namespace(t)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "narrow", Namespace: srcNS},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, icr(t, "us.icr.io"))}})
	rule := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update"}}}
	cfg := env.UserConfig(t, "copy-narrow", nil, map[string][]rbacv1.PolicyRule{srcNS: rule, a: rule})
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	from := types.NamespacedName{Namespace: srcNS, Name: "narrow"}
	for _, want := range []registrykit.Action{registrykit.Created, registrykit.Unchanged} {
		rep, err := pullsecret.Copy(ctx, kube, from, pullsecret.Targets{Namespaces: []string{a}}, pullsecret.CopyOptions{})
		if err != nil || rep.Outcomes[0].Result.Action != want {
			t.Fatalf("Copy = %+v, %v; want %s", rep.Outcomes, err, want)
		}
	}
}

func outcomeMap(r pullsecret.Report) map[string]registrykit.Action {
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

// TestCopyRerunAtFullQuota runs Copy as a user bound to exactly the
// documented rules of pullsecret.Copy (rbac.RulesFor: no cluster-wide
// List) and reruns it in a namespace whose ResourceQuota on count/secrets
// is used up. Quota admission refuses every create there before the server
// could answer AlreadyExists, so the rerun must find the current copy by
// reading it, and write nothing.
func TestCopyRerunAtFullQuota(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srcNS, full := env.Namespace(t), env.Namespace(t)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "quota-src", Namespace: srcNS},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, icr(t, "us.icr.io"))}})
	rules, err := rbac.RulesFor(rbac.OpCopy)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Cluster) != 0 {
		t.Fatalf("Copy's documented rules grant cluster-wide %v; this test is about a caller without them", rules.Cluster)
	}
	cfg := env.UserConfig(t, "copy-full-quota", nil, map[string][]rbacv1.PolicyRule{
		srcNS: rules.Namespaced[rbac.ScopeSource],
		full:  rules.Namespaced[rbac.ScopeTarget],
	})
	userCfg, counter := harness.CountRequests(cfg)
	user, err := kubernetes.NewForConfig(userCfg)
	if err != nil {
		t.Fatal(err)
	}
	from := types.NamespacedName{Namespace: srcNS, Name: "quota-src"}
	to := pullsecret.Targets{Namespaces: []string{full}}
	rep, err := pullsecret.Copy(ctx, user, from, to, pullsecret.CopyOptions{})
	if err != nil || rep.Outcomes[0].Result.Action != registrykit.Created {
		t.Fatalf("first Copy = %+v, %v; want created", rep.Outcomes, err)
	}

	// Use the quota up: the copy is the namespace's only secret. Without a
	// quota controller, the status that admission enforces is set here.
	q, err := env.Kube.CoreV1().ResourceQuotas(full).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "secrets", Namespace: full},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/secrets": resource.MustParse("1")}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{"count/secrets": resource.MustParse("1")}}
	if _, err := env.Kube.CoreV1().ResourceQuotas(full).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Control: admission enforces the quota (its cache has caught up) —
	// a create of another secret is refused with "exceeded quota".
	probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: full}, StringData: map[string]string{"k": "v"}}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := env.Kube.CoreV1().Secrets(full).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"), nil
	})
	if err != nil {
		t.Fatalf("quota on count/secrets not enforced in %s: %v", full, err)
	}

	counter.Reset()
	rep, err = pullsecret.Copy(ctx, user, from, to, pullsecret.CopyOptions{})
	if err != nil || rep.Outcomes[0].Result.Action != registrykit.Unchanged {
		t.Fatalf("rerun at full quota = %+v, %v; want unchanged", rep.Outcomes, err)
	}
	if w := counter.Writes(); len(w) != 0 {
		t.Errorf("rerun writes = %v, want none", w)
	}
}

// TestCopyAdoptsGuideMadeCopies: a namespace that followed the guide by hand
// holds all-icr-io without registrykit's annotation. AdoptForeign takes
// over the one for the same registries — here a legacy
// kubernetes.io/dockercfg copy, replaced by delete and create — and leaves a
// same-named secret for other registries alone, as a warning.
func TestCopyAdoptsGuideMadeCopies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srcNS, guideNS, legacyNS, otherNS := env.Namespace(t), env.Namespace(t), env.Namespace(t), env.Namespace(t)
	cfg := icr(t, "us.icr.io", "de.icr.io")
	data := docBytes(t, cfg)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: srcNS},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: data}})
	// `oc get secret all-icr-io -o yaml | sed s/<src>/<ns>/g | oc create -f -`
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: guideNS,
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: data}})
	legacy, err := cfg.MarshalLegacy()
	if err != nil {
		t.Fatal(err)
	}
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: legacyNS},
		Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{corev1.DockerConfigKey: legacy}})
	other := docBytes(t, icr(t, "other.example.com"))
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: otherNS},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: other}})

	from := types.NamespacedName{Namespace: srcNS, Name: "all-icr-io"}
	to := pullsecret.Targets{Namespaces: []string{guideNS, legacyNS, otherNS}}
	rep, err := pullsecret.Copy(ctx, env.Kube, from, to, pullsecret.CopyOptions{Adoption: pullsecret.AdoptForeign})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	want := map[string]registrykit.Action{guideNS: registrykit.Updated, legacyNS: registrykit.Updated, otherNS: registrykit.Skipped}
	if diff := cmp.Diff(want, outcomeMap(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if w := rep.Warnings(); len(w) != 1 || w[0].Namespace != otherNS || w[0].Result.Skip != registrykit.SkipForeign {
		t.Errorf("warnings = %+v, want the secret for other registries", w)
	}
	for _, ns := range []string{guideNS, legacyNS} {
		got := getSecret(t, ns, "all-icr-io")
		if got.Type != corev1.SecretTypeDockerConfigJson || !bytes.Equal(got.Data[corev1.DockerConfigJsonKey], data) ||
			got.Annotations[pullsecret.AnnotationCopiedFrom] != from.String() || got.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != "" {
			t.Errorf("%s: not adopted: type %s annotations %v", ns, got.Type, got.Annotations)
		}
	}
	if got := getSecret(t, otherNS, "all-icr-io"); !bytes.Equal(got.Data[corev1.DockerConfigJsonKey], other) || got.Annotations[pullsecret.AnnotationCopiedFrom] != "" {
		t.Errorf("the secret for other registries was changed")
	}

	// Adopted copies are ours: a rerun writes nothing there.
	rep, err = pullsecret.Copy(ctx, env.Kube, from, to, pullsecret.CopyOptions{Adoption: pullsecret.AdoptForeign})
	want = map[string]registrykit.Action{guideNS: registrykit.Unchanged, legacyNS: registrykit.Unchanged, otherNS: registrykit.Skipped}
	if diff := cmp.Diff(want, outcomeMap(rep)); err != nil || diff != "" {
		t.Errorf("rerun: %v (-want +got):\n%s", err, diff)
	}
}
