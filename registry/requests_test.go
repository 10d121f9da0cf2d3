package registry_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

// TestLifecycleRequestCounts counts the requests of a cluster's lifecycle:
// apply on a fresh account, a rerun, a rerun after the secret was lost,
// a copy to three projects, a rotation, and teardown. IAM requests are
// counted on iamtest (its log records every call the SDK makes, token
// exchange included); Kubernetes requests as the fake clientset's actions
// (one per API call). The figures are in BENCHMARKS.md; the test asserts
// them so that an extra request per run fails it.
//
//	go test -count=1 -run TestLifecycleRequestCounts -v ./registry/
func TestLifecycleRequestCounts(t *testing.T) {
	ctx := context.Background()
	var objs []runtime.Object
	for _, ns := range rotateNamespaces {
		objs = append(objs, namespaceObj(ns, nil), serviceAccountObj(ns, "default"))
	}
	fx := newFixture(t, objs...)
	c := &fx.cluster.Cluster
	steps := []struct {
		name     string
		prep     func() error // not counted
		run      func() error
		wantIAM  int
		wantKube int
	}{
		{"apply, fresh account", nil, func() error {
			_, err := registry.ApplyClusterPullSecret(ctx, c, fx.client, registry.ApplyOptions{ClusterID: "c1"})
			return err
		}, 7, 4},
		{"apply again (key reused)", nil, func() error {
			_, err := registry.ApplyClusterPullSecret(ctx, c, fx.client, registry.ApplyOptions{ClusterID: "c1"})
			return err
		}, 4, 3},
		{"apply after the secret was lost (re-mint, prune)", func() error {
			return c.Kube.CoreV1().Secrets("default").Delete(ctx, "all-icr-io", metav1.DeleteOptions{})
		}, func() error {
			_, err := registry.ApplyClusterPullSecret(ctx, c, fx.client, registry.ApplyOptions{ClusterID: "c1"})
			return err
		}, 5, 6},
		{"copy to 3 projects", nil, func() error {
			_, err := registry.CopyICRSecret(ctx, c, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: rotateNamespaces}})
			return err
		}, 0, 11},
		{"rotate (4 secrets)", nil, func() error {
			_, err := registry.RotateAPIKey(ctx, c, fx.client, registry.RotateOptions{ClusterID: "c1"})
			return err
		}, 5, 12},
		{"teardown", nil, func() error {
			_, err := registry.RemoveClusterPullSecret(ctx, c, fx.client, registry.RemoveOptions{ClusterID: "c1"})
			return err
		}, 7, 15},
		{"teardown again", nil, func() error {
			_, err := registry.RemoveClusterPullSecret(ctx, c, fx.client, registry.RemoveOptions{ClusterID: "c1"})
			return err
		}, 1, 0},
	}
	table := "| step | IAM requests | by operation | Kubernetes requests | by verb |\n|---|---|---|---|---|\n"
	for _, st := range steps {
		if st.prep != nil {
			if err := st.prep(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		iamBefore, kubeBefore := len(fx.srv.Requests()), len(fx.cluster.KubeFake.Actions())
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		iamOps := map[string]int{}
		for _, r := range fx.srv.Requests()[iamBefore:] {
			iamOps[r.Op]++
		}
		kubeOps := map[string]int{}
		for _, a := range fx.cluster.KubeFake.Actions()[kubeBefore:] {
			kubeOps[a.GetVerb()+" "+a.GetResource().Resource]++
		}
		gotIAM, gotKube := total(iamOps), total(kubeOps)
		table += fmt.Sprintf("| %s | %d | %s | %d | %s |\n", st.name, gotIAM, byKey(iamOps), gotKube, byKey(kubeOps))
		if diff := cmp.Diff([2]int{st.wantIAM, st.wantKube}, [2]int{gotIAM, gotKube}); diff != "" {
			t.Errorf("%s: [IAM, Kubernetes] requests (-want +got):\n%s", st.name, diff)
		}
	}
	t.Logf("\n%s", table)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func byKey(m map[string]int) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}
