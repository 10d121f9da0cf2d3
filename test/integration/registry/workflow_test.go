package registry_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/test/integration/harness"
)

const projects = 20

// project creates a namespace with a "default" service account (there is
// no service account controller in this tier) and the given label.
func project(t *testing.T, label string) string {
	t.Helper()
	ctx := t.Context()
	ns := env.Namespace(t)
	n, err := env.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels["registrykit.io/test"] = label
	if _, err := env.Kube.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}
	if _, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return ns
}

func iamClient(t *testing.T) (*iamtest.Server, *iam.Client) {
	t.Helper()
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := iam.New(iam.Options{APIKey: iam.NewSecret(srv.AddAPIKey("IBMid-100000ABCD")), AccountID: srv.AccountID(), URL: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// keysIn returns the IAM key IDs a secret's iamapikey entries hold.
func keysIn(t *testing.T, client *iam.Client, ns string) []string {
	t.Helper()
	s, err := env.Kube.CoreV1().Secrets(ns).Get(t.Context(), "all-icr-io", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("secret %s/all-icr-io: %v", ns, err)
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for server, e := range cfg.Auths {
		if e.Username != icr.APIKeyUsername {
			t.Errorf("%s/%s: username %q", ns, server, e.Username)
		}
		d, err := client.APIKeyDetails(t.Context(), iam.NewSecret(e.Password))
		if err != nil {
			t.Fatalf("%s/%s: key unknown to IAM: %v", ns, server, err)
		}
		if !slices.Contains(ids, d.ID) {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// TestApplyCopyRotate is the acceptance story on a real API server: apply
// the cluster pull secret, copy it to 20 projects, rotate the key. Every
// copy ends up holding the new key and the old key is deleted in IAM.
func TestApplyCopyRotate(t *testing.T) {
	ctx := t.Context()
	label := "apply-copy-rotate"
	home := project(t, label)
	var targets []string
	for range projects {
		targets = append(targets, project(t, label))
	}
	cfg, counter := harness.CountRequests(env.Config)
	cluster, err := registry.NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, client := iamClient(t)
	applyOpts := registry.ApplyOptions{ClusterID: "c1", Namespace: home}

	// A dry run stores nothing, in IAM or in the cluster.
	if _, err := registry.ApplyClusterPullSecret(ctx, cluster, client, registry.ApplyOptions{ClusterID: "c1", Namespace: home, WriteOptions: registrykit.WriteOptions{DryRun: true}}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if len(srv.ServiceIDs()) != 0 || len(srv.Policies()) != 0 {
		t.Fatalf("dry run wrote to IAM: %v %v", srv.ServiceIDs(), srv.Policies())
	}
	if _, err := env.Kube.CoreV1().Secrets(home).Get(ctx, "all-icr-io", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run stored the secret: %v", err)
	}

	rep, err := registry.ApplyClusterPullSecret(ctx, cluster, client, applyOpts)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, rep)
	}
	old := keysIn(t, client, home)
	if len(old) != 1 {
		t.Fatalf("apply: secret holds keys %v", old)
	}
	rep, err = registry.ApplyClusterPullSecret(ctx, cluster, client, applyOpts)
	if err != nil || rep.Counts()[registrykit.Reused] != 1 {
		t.Fatalf("apply rerun did not reuse the key: %v\n%s", err, rep)
	}

	sel := labels.SelectorFromSet(labels.Set{"registrykit.io/test": label})
	rep, err = registry.CopyICRSecret(ctx, cluster, registry.CopyICROptions{
		Targets: pullsecret.Targets{Selector: sel},
		From:    typesName(home, "all-icr-io"),
	})
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, rep)
	}
	for _, ns := range targets {
		if got := keysIn(t, client, ns); !slices.Equal(got, old) {
			t.Errorf("%s: copy holds %v, want %v", ns, got, old)
		}
	}

	counter.Reset()
	rep, err = registry.RotateAPIKey(ctx, cluster, client, registry.RotateOptions{ClusterID: "c1", Targets: pullsecret.Targets{Selector: sel}})
	if err != nil {
		t.Fatalf("rotate: %v\n%s", err, rep)
	}
	if got := counter.Count("list", "secrets"); got != 4 {
		t.Errorf("rotate listed secrets %d times, want 4 (find, verify, and the pull secrets of each type): %v", got, counter.Snapshot())
	}
	if got := counter.Count("get", "secrets"); got != projects+1 {
		t.Errorf("rotate read %d secrets one by one, want %d (one per update)", got, projects+1)
	}
	keys := srv.APIKeys()
	var ofCluster []string
	sid := srv.ServiceIDs()[0]
	for _, k := range keys {
		if k.IAMID == sid.IAMID {
			ofCluster = append(ofCluster, k.ID)
		}
		if k.ID == old[0] {
			t.Errorf("old key %s still exists", old[0])
		}
	}
	if len(ofCluster) != 1 {
		t.Fatalf("service ID has keys %v, want exactly the new one", ofCluster)
	}
	for _, ns := range append([]string{home}, targets...) {
		if got := keysIn(t, client, ns); !slices.Equal(got, ofCluster) {
			t.Errorf("%s: holds %v, want the new key %v", ns, got, ofCluster)
		}
		sa, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: "all-icr-io"}) {
			t.Errorf("%s/default: imagePullSecrets %v", ns, sa.ImagePullSecrets)
		}
	}
	if c := rep.Counts(); c[registrykit.Updated] != projects+1 || c[registrykit.Deleted] != 1 {
		t.Errorf("rotate report counts %v:\n%s", c, rep)
	}
}

// TestCopyICRSecretGuideMadeCopies: with Adoption AdoptForeign, a copy the
// guide's steps made by hand (same name, no annotation, same registries) is
// adopted and attached to the service account; a same-named secret for
// other registries is left alone, not attached, and reported as a warning.
func TestCopyICRSecretGuideMadeCopies(t *testing.T) {
	ctx := t.Context()
	label := "guide-made"
	home, guideNS, otherNS := project(t, label), project(t, label), project(t, label)
	cluster, err := registry.NewCluster(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	_, client := iamClient(t)
	if rep, err := registry.ApplyClusterPullSecret(ctx, cluster, client, registry.ApplyOptions{ClusterID: "guide", Namespace: home}); err != nil {
		t.Fatalf("apply: %v\n%s", err, rep)
	}
	src, err := env.Kube.CoreV1().Secrets(home).Get(ctx, "all-icr-io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	guide := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: guideNS, Name: "all-icr-io"}, Type: src.Type, Data: src.Data}
	if _, err := env.Kube.CoreV1().Secrets(guideNS).Create(ctx, guide, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other, err := icr.APIKeyConfig("someone-elses-key", []string{"de.icr.io"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pullsecret.Apply(ctx, env.Kube, otherNS, "all-icr-io", other, registrykit.WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	rep, err := registry.CopyICRSecret(ctx, cluster, registry.CopyICROptions{
		Targets:  pullsecret.Targets{Namespaces: []string{guideNS, otherNS}},
		From:     typesName(home, "all-icr-io"),
		Adoption: pullsecret.AdoptForeign,
	})
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, rep)
	}
	attached := func(ns string) bool {
		sa, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == "all-icr-io" })
	}
	if !attached(guideNS) {
		t.Errorf("the adopted copy in %s is not attached:\n%s", guideNS, rep)
	}
	if attached(otherNS) {
		t.Errorf("the foreign secret in %s was attached:\n%s", otherNS, rep)
	}
	if w := rep.Warnings(); len(w) != 1 || w[0].Object != otherNS+"/all-icr-io" || w[0].Skip != registrykit.SkipForeign {
		t.Errorf("warnings = %v, want the foreign secret in %s", w, otherNS)
	}
	adopted, err := env.Kube.CoreV1().Secrets(guideNS).Get(ctx, "all-icr-io", metav1.GetOptions{})
	if err != nil || adopted.Annotations[pullsecret.AnnotationCopiedFrom] != home+"/all-icr-io" {
		t.Errorf("guide copy not adopted: %v %v", err, adopted.Annotations)
	}
}

// TestRotateAPIKeyKeepsKeyOtherPullSecretsHold: before RotateAPIKey deletes
// an old key it reads every image pull secret in the cluster, with the API
// server filtering by type (field selector). A pull secret under another
// name — here a legacy kubernetes.io/dockercfg one, as a person may have
// made by hand — that holds the old key keeps it alive, with a warning.
func TestRotateAPIKeyKeepsKeyOtherPullSecretsHold(t *testing.T) {
	ctx := t.Context()
	home := project(t, "rotate-other-holder")
	other := project(t, "rotate-other-holder")
	cluster, err := registry.NewCluster(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	srv, client := iamClient(t)
	if rep, err := registry.ApplyClusterPullSecret(ctx, cluster, client, registry.ApplyOptions{ClusterID: "c-other", Namespace: home}); err != nil {
		t.Fatalf("apply: %v\n%s", err, rep)
	}
	old := keysIn(t, client, home)
	s, err := env.Kube.CoreV1().Secrets(home).Get(ctx, "all-icr-io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := cfg.MarshalLegacy()
	if err != nil {
		t.Fatal(err)
	}
	hand := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "made-by-hand"}, Type: corev1.SecretTypeDockercfg,
		Data: map[string][]byte{corev1.DockerConfigKey: legacy}}
	if _, err := env.Kube.CoreV1().Secrets(other).Create(ctx, hand, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	rep, err := registry.RotateAPIKey(ctx, cluster, client, registry.RotateOptions{ClusterID: "c-other", Targets: pullsecret.Targets{Namespaces: []string{home}}})
	if err != nil {
		t.Fatalf("rotate: %v\n%s", err, rep)
	}
	if !slices.ContainsFunc(srv.APIKeys(), func(k iamtest.APIKey) bool { return k.ID == old[0] }) {
		t.Fatalf("old key deleted although %s/made-by-hand holds it:\n%s", other, rep)
	}
	w := rep.Warnings()
	if len(w) != 1 || w[0].Skip != registrykit.SkipInUse {
		t.Errorf("warnings %v, want one SkipInUse\n%s", w, rep)
	}
	if got := keysIn(t, client, home); slices.Equal(got, old) {
		t.Errorf("%s still holds the old key", home)
	}

	// Once that secret is gone, the next rotation deletes every old key.
	if err := env.Kube.CoreV1().Secrets(other).Delete(ctx, "made-by-hand", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep, err := registry.RotateAPIKey(ctx, cluster, client, registry.RotateOptions{ClusterID: "c-other", Targets: pullsecret.Targets{Namespaces: []string{home}}}); err != nil {
		t.Fatalf("second rotate: %v\n%s", err, rep)
	}
	sid := srv.ServiceIDs()[0]
	var n int
	for _, k := range srv.APIKeys() {
		if k.IAMID == sid.IAMID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("service ID holds %d keys after the second rotation, want 1", n)
	}
}

// TestTeardownLeavesNothingOfOurs: apply, copy to projects (one copy made
// by hand and adopted), then RemoveClusterPullSecret. Nothing of the
// cluster is left in IAM, no secret of ours and no reference to one is left
// in the cluster, a same-named secret of someone else stays, and a rerun
// deletes nothing.
func TestTeardownLeavesNothingOfOurs(t *testing.T) {
	ctx := t.Context()
	label := "teardown"
	home := project(t, label)
	targets := []string{project(t, label), project(t, label)}
	foreign := project(t, label+"-foreign")
	cluster, err := registry.NewCluster(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	srv, client := iamClient(t)
	const name = "teardown-icr-io"
	if rep, err := registry.ApplyClusterPullSecret(ctx, cluster, client, registry.ApplyOptions{ClusterID: "c-td", Namespace: home, SecretName: name}); err != nil {
		t.Fatalf("apply: %v\n%s", err, rep)
	}
	// The guide's hand-made copy in the first target: adopted by the copy.
	src, err := env.Kube.CoreV1().Secrets(home).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hand := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: targets[0], Name: name}, Type: src.Type, Data: src.Data}
	if _, err := env.Kube.CoreV1().Secrets(targets[0]).Create(ctx, hand, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep, err := registry.CopyICRSecret(ctx, cluster, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: targets}, From: typesName(home, name), Adoption: pullsecret.AdoptForeign}); err != nil {
		t.Fatalf("copy: %v\n%s", err, rep)
	}
	// Someone else's secret of the same name, for another registry.
	other, err := icr.APIKeyConfig("someone-elses-key", []string{"us.icr.io"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := other.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: foreign, Name: name}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: data}}
	if _, err := env.Kube.CoreV1().Secrets(foreign).Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	opts := registry.RemoveOptions{ClusterID: "c-td", Namespace: home, SecretName: name}
	// A dry run (server-side dryRun=All) removes nothing.
	dry := opts
	dry.DryRun = true
	if rep, err := registry.RemoveClusterPullSecret(ctx, cluster, client, dry); err != nil {
		t.Fatalf("dry run: %v\n%s", err, rep)
	}
	for _, ns := range append([]string{home}, targets...) {
		if _, err := env.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatalf("dry run removed %s/%s: %v", ns, name, err)
		}
	}

	rep, err := registry.RemoveClusterPullSecret(ctx, cluster, client, opts)
	if err != nil {
		t.Fatalf("teardown: %v\n%s", err, rep)
	}
	if n := len(srv.ServiceIDs()) + len(srv.Policies()); n != 0 {
		t.Errorf("IAM still holds %d service IDs and policies\n%s", n, rep)
	}
	if n := len(srv.APIKeys()); n != 1 {
		t.Errorf("IAM holds %d keys, want only the owner's\n%s", n, rep)
	}
	for _, ns := range append([]string{home}, targets...) {
		if _, err := env.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s/%s left: %v", ns, name, err)
		}
		sa, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: name}) {
			t.Errorf("%s/default still references %s", ns, name)
		}
	}
	if _, err := env.Kube.CoreV1().Secrets(foreign).Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Errorf("someone else's %s/%s was deleted: %v", foreign, name, err)
	}
	rep, err = registry.RemoveClusterPullSecret(ctx, cluster, client, opts)
	if err != nil || rep.Counts()[registrykit.Deleted] != 0 {
		t.Errorf("rerun: %v\n%s", err, rep)
	}
}
