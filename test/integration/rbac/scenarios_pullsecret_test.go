package rbac_test

import (
	"context"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/rbac"
	"github.com/registrykit/registrykit/registry"
)

var globalLock sync.Mutex // openshift-config/pull-secret

func icr(key string) *dockerconfig.Config {
	c := &dockerconfig.Config{}
	c.Set("us.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: key})
	return c
}

// copyTargets seeds the cases of Copy: t1 empty (create), t2 a stale copy
// (get after AlreadyExists, update), t3 a copy of another type (delete and
// create), t4 found only by the selector (namespaces list).
func copyTargets(t *testing.T, src types.NamespacedName, name string) ([]string, pullsecret.Targets) {
	t.Helper()
	ts := []string{env.Namespace(t), env.Namespace(t), env.Namespace(t), env.Namespace(t)}
	origin := map[string]string{pullsecret.AnnotationCopiedFrom: src.Namespace + "/" + src.Name}
	secret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ts[1], Annotations: origin},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: doc(t, "us.icr.io", "iamapikey", "stale")}})
	secret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ts[2], Annotations: origin},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}})
	labelNamespace(t, ts[3], "rbac-select", ts[3])
	return ts, pullsecret.Targets{Namespaces: ts[:3], Selector: labels.SelectorFromSet(labels.Set{"rbac-select": ts[3]})}
}

func init() {
	sel := []rbac.Condition{rbac.WhenSelector, rbac.WhenReplace}
	scenarios[rbac.OpApply] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		pullSecret(t, ns, "old", doc(t, "us.icr.io", "iamapikey", "old"))
		return map[Scope][]string{rbac.ScopeTarget: {ns}}, func(ctx context.Context, c *registry.Cluster) error {
			if _, err := pullsecret.Apply(ctx, c.Kube, ns, "new", icr("k"), registrykit.WriteOptions{}); err != nil {
				return err
			}
			_, err := pullsecret.Apply(ctx, c.Kube, ns, "old", icr("k"), registrykit.WriteOptions{})
			return err
		}
	}}
	scenarios[rbac.OpCopy] = scenario{conds: sel, setup: func(t *testing.T) (map[Scope][]string, call) {
		src := env.Namespace(t)
		pullSecret(t, src, "all-icr-io", doc(t, "us.icr.io", "iamapikey", "k"))
		from := types.NamespacedName{Namespace: src, Name: "all-icr-io"}
		ts, to := copyTargets(t, from, "all-icr-io")
		return map[Scope][]string{rbac.ScopeSource: {src}, rbac.ScopeTarget: ts}, func(ctx context.Context, c *registry.Cluster) error {
			_, err := pullsecret.Copy(ctx, c.Kube, from, to, pullsecret.CopyOptions{})
			return err
		}
	}}
	attach := func(op func(ctx context.Context, c *registry.Cluster, ns string) error) func(t *testing.T) (map[Scope][]string, call) {
		return func(t *testing.T) (map[Scope][]string, call) {
			ns := env.Namespace(t)
			serviceAccount(t, ns, "default")
			return map[Scope][]string{rbac.ScopeTarget: {ns}}, func(ctx context.Context, c *registry.Cluster) error { return op(ctx, c, ns) }
		}
	}
	scenarios[rbac.OpAttachToServiceAccount] = scenario{setup: attach(func(ctx context.Context, c *registry.Cluster, ns string) error {
		_, err := pullsecret.AttachToServiceAccount(ctx, c.Kube, types.NamespacedName{Namespace: ns, Name: "default"}, "all-icr-io", pullsecret.AttachOptions{})
		return err
	})}
	scenarios[rbac.OpLink] = scenario{setup: attach(func(ctx context.Context, c *registry.Cluster, ns string) error {
		_, err := pullsecret.Link(ctx, c.Kube, types.NamespacedName{Namespace: ns, Name: "default"}, "all-icr-io", pullsecret.For{Pull: true, Mount: true}, registrykit.WriteOptions{})
		return err
	})}
	scenarios[rbac.OpAttachToServiceAccounts] = scenario{conds: []rbac.Condition{rbac.WhenSelector}, setup: func(t *testing.T) (map[Scope][]string, call) {
		a, b := env.Namespace(t), env.Namespace(t)
		serviceAccount(t, a, "default")
		serviceAccount(t, b, "default")
		labelNamespace(t, b, "rbac-select", b)
		to := pullsecret.Targets{Namespaces: []string{a}, Selector: labels.SelectorFromSet(labels.Set{"rbac-select": b})}
		return map[Scope][]string{rbac.ScopeTarget: {a, b}}, func(ctx context.Context, c *registry.Cluster) error {
			_, err := pullsecret.AttachToServiceAccounts(ctx, c.Kube, "default", "all-icr-io", to, pullsecret.ManyOptions{})
			return err
		}
	}}
	global := func(t *testing.T) {
		t.Helper()
		env.NamespaceNamed(t, pullsecret.GlobalNamespace)
		c := &dockerconfig.Config{}
		for _, r := range append(pullsecret.DefaultRequired, "extra.example.com") {
			c.Set(r, dockerconfig.Entry{Username: "u", Password: "p"})
		}
		data, err := c.Marshal()
		must(t, err)
		s, err := env.Kube.CoreV1().Secrets(pullsecret.GlobalNamespace).Get(t.Context(), pullsecret.GlobalName, metav1.GetOptions{})
		if err != nil {
			pullSecret(t, pullsecret.GlobalNamespace, pullsecret.GlobalName, data)
			return
		}
		s.Data[corev1.DockerConfigJsonKey] = data
		_, err = env.Kube.CoreV1().Secrets(pullsecret.GlobalNamespace).Update(t.Context(), s, metav1.UpdateOptions{})
		must(t, err)
	}
	globalScope := map[Scope][]string{rbac.ScopeOpenShiftConfig: {pullsecret.GlobalNamespace}}
	scenarios[rbac.OpMergeGlobal] = scenario{lock: &globalLock, setup: func(t *testing.T) (map[Scope][]string, call) {
		global(t)
		return globalScope, func(ctx context.Context, c *registry.Cluster) error {
			_, err := pullsecret.MergeGlobal(ctx, c.Kube, icr("k"), pullsecret.GlobalOptions{})
			return err
		}
	}}
	scenarios[rbac.OpRemoveFromGlobal] = scenario{lock: &globalLock, setup: func(t *testing.T) (map[Scope][]string, call) {
		global(t)
		return globalScope, func(ctx context.Context, c *registry.Cluster) error {
			_, err := pullsecret.RemoveFromGlobal(ctx, c.Kube, []string{"extra.example.com"}, pullsecret.GlobalOptions{})
			return err
		}
	}}
	scenarios[rbac.OpInternalRegistrySecret] = scenario{conds: []rbac.Condition{rbac.WhenUnreferenced}, setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		serviceAccount(t, ns, "default")
		dockercfgSecret(t, ns, "default")
		pullSecret(t, ns, "old", doc(t, "x.example.com", "u", "p"))
		return map[Scope][]string{rbac.ScopeTarget: {ns}}, func(ctx context.Context, c *registry.Cluster) error {
			for _, name := range []string{"new", "old"} {
				if _, err := pullsecret.InternalRegistrySecret(ctx, c.Kube, ns, pullsecret.InternalOptions{Host: "registry.apps.example.com", Name: name}); err != nil {
					return err
				}
			}
			return nil
		}
	}}
	scenarios[rbac.OpAudit] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		serviceAccount(t, ns, "default", "missing")
		return map[Scope][]string{rbac.ScopeTarget: {ns}}, func(ctx context.Context, c *registry.Cluster) error {
			_, err := pullsecret.Audit(ctx, c.Kube, ns)
			return err
		}
	}}
	scenarios[rbac.OpExplain] = scenario{conds: []rbac.Condition{rbac.WhenPod}, setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		pullSecret(t, ns, "all-icr-io", doc(t, "us.icr.io", "iamapikey", "k"))
		serviceAccount(t, ns, "default", "all-icr-io")
		_, err := env.Kube.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
			Spec: corev1.PodSpec{ServiceAccountName: "default", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "all-icr-io"}},
				Containers: []corev1.Container{{Name: "app", Image: "us.icr.io/team/app:1"}}},
		}, metav1.CreateOptions{})
		must(t, err)
		return map[Scope][]string{rbac.ScopeTarget: {ns}}, func(ctx context.Context, c *registry.Cluster) error {
			_, err := pullsecret.Explain(ctx, c.Kube, ns, pullsecret.Subject{Pod: "app"}, "us.icr.io/team/app:1")
			return err
		}
	}}
}
