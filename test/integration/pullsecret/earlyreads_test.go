package pullsecret_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
)

// holdSource holds the GET of one secret until a GET of another secret has
// been sent, or until a limit; it records whether the limit was reached.
type holdSource struct {
	next     http.RoundTripper
	source   string // the path of the source secret
	other    chan struct{}
	once     sync.Once
	timedOut atomic.Bool
}

func (h *holdSource) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet {
		if r.URL.Path == h.source {
			select {
			case <-h.other:
			case <-time.After(10 * time.Second):
				h.timedOut.Store(true)
			}
		} else if strings.Contains(r.URL.Path, "/secrets/") {
			h.once.Do(func() { close(h.other) })
		}
	}
	return h.next.RoundTrip(r)
}

// Copy into a few named namespaces reads their secrets while it reads the
// source, not after: the source's GET is held back here until a target's
// GET has been sent, which never happens if the reads are made one after
// the other (the test then fails after 10 s, the hold's limit).
func TestCopyReadsFewTargetsWithTheSource(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srcNS := env.Namespace(t)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "early", Namespace: srcNS},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, icr(t, "us.icr.io"))}})
	targets := []string{env.Namespace(t), env.Namespace(t), env.Namespace(t)}

	hold := &holdSource{source: "/api/v1/namespaces/" + srcNS + "/secrets/early", other: make(chan struct{})}
	cfg := fastConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { hold.next = rt; return hold })
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	from := types.NamespacedName{Namespace: srcNS, Name: "early"}
	rep, err := pullsecret.Copy(ctx, kube, from, pullsecret.Targets{Namespaces: targets}, pullsecret.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hold.timedOut.Load() {
		t.Error("the source was read before any target: the reads took two round trips")
	}
	if got := rep.Counts()[registrykit.Created]; got != len(targets) {
		t.Errorf("created %d copies, want %d: %v", got, len(targets), rep.Counts())
	}
	for _, ns := range targets {
		getSecret(t, ns, "early")
	}

	// A rerun decides from the same early reads: nothing to write.
	rep, err = pullsecret.Copy(ctx, kube, from, pullsecret.Targets{Namespaces: targets}, pullsecret.CopyOptions{})
	if err != nil || rep.Counts()[registrykit.Unchanged] != len(targets) {
		t.Errorf("rerun: %v, %v", rep.Counts(), err)
	}
}
