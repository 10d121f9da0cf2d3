package propagate

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// samePointer says whether two maps are one map.
func samePointer(a, b map[string]string) bool {
	return a != nil && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// Copies of one source carry equal labels and annotations in every
// namespace: the cache holds one map of each, not one per namespace.
func TestCacheSharesEqualMetadata(t *testing.T) {
	p, err := New(fakeKube(), Options{Rules: []Rule{{Source: source}}})
	if err != nil {
		t.Fatal(err)
	}
	var cached []*corev1.Secret
	for _, ns := range []string{"team-a", "team-b"} {
		cp := pullSecret(t, ns, "all-icr-io", "us.icr.io")
		cp.Labels = map[string]string{"app": "pull"}
		cp.Annotations = map[string]string{"registrykit.io/copied-from": "default/all-icr-io"}
		out, err := p.secretTransform(cp)
		if err != nil {
			t.Fatal(err)
		}
		cached = append(cached, out.(*corev1.Secret))
	}
	a, b := cached[0], cached[1]
	if !samePointer(a.Labels, b.Labels) || !samePointer(a.Annotations, b.Annotations) {
		t.Error("equal labels or annotations of two copies are held twice")
	}
	edited := pullSecret(t, "team-c", "all-icr-io", "us.icr.io")
	edited.Labels = map[string]string{"app": "other"}
	out, _ := p.secretTransform(edited)
	if samePointer(out.(*corev1.Secret).Labels, a.Labels) {
		t.Error("different labels share one map")
	}

	// What a reconcile reads is its own to change.
	st := p.secrets["all-icr-io"]
	if err := st.inf.GetStore().Add(a); err != nil {
		t.Fatal(err)
	}
	got, _ := p.getCopy(st, "team-a", "all-icr-io")
	got.Labels["app"] = "changed"
	got.Annotations["x"] = "y"
	if b.Labels["app"] != "pull" || b.Annotations["x"] != "" {
		t.Error("a change to a read copy reached the shared maps")
	}

	var accounts []*corev1.ServiceAccount
	for _, ns := range []string{"team-a", "team-b"} {
		sa := serviceAccount(ns, "default", "all-icr-io")
		sa.Labels = map[string]string{"team": "x"}
		out, err := p.serviceAccountTransform(sa)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, out.(*corev1.ServiceAccount))
	}
	if !samePointer(accounts[0].Labels, accounts[1].Labels) {
		t.Error("equal labels of two service accounts are held twice")
	}
}

// The cache does not keep kubernetes.io/metadata.name, which the server
// sets to every namespace's name, yet selectors on it still match; the
// other labels are shared between namespaces.
func TestNamespaceCacheKeepsNameLabelVirtual(t *testing.T) {
	sel, err := labels.Parse(corev1.LabelMetadataName + " in (team-a),tier=gold")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(fakeKube(), Options{Rules: []Rule{{Source: source, Selector: sel}}})
	if err != nil {
		t.Fatal(err)
	}
	var cached []*corev1.Namespace
	for _, name := range []string{"team-a", "team-b"} {
		out, err := p.namespaceTransform(namespace(name, map[string]string{corev1.LabelMetadataName: name, "tier": "gold"}))
		if err != nil {
			t.Fatal(err)
		}
		ns := out.(*corev1.Namespace)
		if _, ok := ns.Labels[corev1.LabelMetadataName]; ok {
			t.Errorf("%s: %s kept in the cache", name, corev1.LabelMetadataName)
		}
		cached = append(cached, ns)
	}
	if !samePointer(cached[0].Labels, cached[1].Labels) {
		t.Error("equal labels of two namespaces are held twice")
	}
	if got := p.rules[0].selects(cached[0]); !got.selected {
		t.Errorf("team-a not selected by %s: %+v", sel, got)
	}
	if got := p.rules[0].selects(cached[1]); got.selected {
		t.Errorf("team-b selected by %s", sel)
	}
	// A label that disagrees with the name (only a fake cluster can have
	// one) is kept as it is.
	out, _ := p.namespaceTransform(namespace("team-c", map[string]string{corev1.LabelMetadataName: "team-a", "tier": "gold"}))
	if ns := out.(*corev1.Namespace); ns.Labels[corev1.LabelMetadataName] != "team-a" || p.rules[0].selects(ns).selected != true {
		t.Errorf("disagreeing name label: %v", ns.Labels)
	}
}

// The interner's tables stay bounded when every map differs.
func TestInternerIsBounded(t *testing.T) {
	in := newInterner()
	first := in.stringMap(map[string]string{"k": "v0"})
	for i := range 3 * internMax {
		in.stringMap(map[string]string{"k": fmt.Sprint("v", i)})
	}
	if len(in.maps) > internMax || len(in.strs) > internMax {
		t.Errorf("tables hold %d maps and %d strings, bound %d", len(in.maps), len(in.strs), internMax)
	}
	if first["k"] != "v0" {
		t.Error("a map handed out was changed")
	}
	if in.stringMap(nil) != nil || in.stringMap(map[string]string{}) != nil {
		t.Error("an empty map is not nil")
	}
}

// No informer keeps an index: reads are by key, and client-go's default
// namespace index would hold a set per namespace.
func TestInformersKeepNoIndex(t *testing.T) {
	p, err := New(fakeKube(), Options{Rules: []Rule{{Source: source}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.nsInf.GetIndexer().GetIndexers()); n != 0 {
		t.Errorf("namespace informer has %d indexes", n)
	}
	for name, st := range p.secrets {
		if n := len(st.inf.GetIndexer().GetIndexers()); n != 0 {
			t.Errorf("secret informer %s has %d indexes", name, n)
		}
	}
	for name, st := range p.sas {
		if n := len(st.inf.GetIndexer().GetIndexers()); n != 0 {
			t.Errorf("service account informer %s has %d indexes", name, n)
		}
	}
}
