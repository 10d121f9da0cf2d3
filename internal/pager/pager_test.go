package pager

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func names(l *corev1.NamespaceList) []string {
	var out []string
	for _, n := range l.Items {
		out = append(out, n.Name)
	}
	return out
}

// pages serves the given pages in turn, continue tokens "1", "2", …, and
// records the options of every call.
type pages struct {
	items [][]string
	calls []metav1.ListOptions
	fail  map[int]error // by call index
}

func (p *pages) list(_ context.Context, o metav1.ListOptions) (*corev1.NamespaceList, error) {
	p.calls = append(p.calls, o)
	if err := p.fail[len(p.calls)-1]; err != nil {
		return nil, err
	}
	if o.Limit == 0 { // unpaged: everything
		l := &corev1.NamespaceList{}
		for _, page := range p.items {
			for _, n := range page {
				l.Items = append(l.Items, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
			}
		}
		return l, nil
	}
	i := 0
	if o.Continue != "" {
		fmt.Sscan(o.Continue, &i)
	}
	l := &corev1.NamespaceList{}
	for _, n := range p.items[i] {
		l.Items = append(l.Items, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	if i+1 < len(p.items) {
		l.Continue = fmt.Sprint(i + 1)
	}
	return l, nil
}

func TestAllFollowsContinueTokens(t *testing.T) {
	p := &pages{items: [][]string{{"a", "b"}, {"c"}, {"d"}}}
	got, err := All(context.Background(), metav1.ListOptions{LabelSelector: "x=y"}, p.list, names)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d"}, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	want := []metav1.ListOptions{
		{LabelSelector: "x=y", Limit: PageSize},
		{LabelSelector: "x=y", Limit: PageSize, Continue: "1"},
		{LabelSelector: "x=y", Limit: PageSize, Continue: "2"},
	}
	if diff := cmp.Diff(want, p.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestAllExpiredTokenStartsOverUnpaged(t *testing.T) {
	gone := apierrors.NewResourceExpired("continue token expired")
	p := &pages{items: [][]string{{"a"}, {"b"}}, fail: map[int]error{1: gone}}
	got, err := All(context.Background(), metav1.ListOptions{}, p.list, names)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if last := p.calls[len(p.calls)-1]; last.Limit != 0 || last.Continue != "" || len(p.calls) != 3 {
		t.Errorf("calls = %+v, want a third, unpaged one", p.calls)
	}
}

func TestAllErrors(t *testing.T) {
	boom := errors.New("boom")
	for name, fail := range map[string]map[int]error{
		"first page":                  {0: boom},
		"later page":                  {1: boom},
		"expired on the first page":   {0: apierrors.NewResourceExpired("gone")},
		"unpaged retry fails as well": {1: apierrors.NewResourceExpired("gone"), 2: boom},
	} {
		t.Run(name, func(t *testing.T) {
			p := &pages{items: [][]string{{"a"}, {"b"}}, fail: fail}
			if got, err := All(context.Background(), metav1.ListOptions{}, p.list, names); err == nil || got != nil {
				t.Errorf("All = %v, %v; want nil and an error", got, err)
			}
		})
	}
}

// The generated clients' List methods fit as they are.
func TestAllWithAClientset(t *testing.T) {
	kube := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "s"}},
	)
	var limits []int64
	kube.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		limits = append(limits, a.(k8stesting.ListActionImpl).ListOptions.Limit)
		return false, nil, nil
	})
	got, err := All(context.Background(), metav1.ListOptions{}, kube.CoreV1().Secrets("").List,
		func(l *corev1.SecretList) []corev1.Secret { return l.Items })
	if err != nil || len(got) != 2 {
		t.Fatalf("All = %d secrets, %v; want 2", len(got), err)
	}
	if diff := cmp.Diff([]int64{PageSize}, limits); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
}
