package pullsecret_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/test/integration/harness"
)

// TestScaleCopyReads measures what Copy's reads cost when the cluster
// already holds many copies: with REGISTRYKIT_COPIES (3,000) copies in
// place, Copy into 5 and into 300 new namespaces against as many raw
// client-go Creates of the same secret, same client settings, same
// concurrency. It prints figures and asserts nothing about time. Skipped
// unless REGISTRYKIT_SCALE=1 (it creates about 4,300 namespaces):
//
//	cd test/integration && REGISTRYKIT_SCALE=1 go test -count=1 -run TestScaleCopyReads -v ./pullsecret/
//
// Each size is measured in alternating order into fresh namespaces
// (REGISTRYKIT_ROUNDS rounds, 3 by default); the best of each is compared.
func TestScaleCopyReads(t *testing.T) {
	if os.Getenv("REGISTRYKIT_SCALE") == "" {
		t.Skip("set REGISTRYKIT_SCALE=1 to run the copy-reads scale test")
	}
	copies := harness.EnvInt(t, "REGISTRYKIT_COPIES", 3000)
	rounds := harness.EnvInt(t, "REGISTRYKIT_ROUNDS", 3)
	conc := pullsecret.DefaultConcurrency
	ctx := t.Context()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = scaleQPS, scaleBurst
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	srcNS := env.Namespace(t)
	c := &dockerconfig.Config{}
	for _, d := range []string{"icr.io", "us.icr.io", "uk.icr.io", "de.icr.io", "au.icr.io", "jp.icr.io", "jp2.icr.io", "br.icr.io", "ca.icr.io", "fr2.icr.io", "es.icr.io"} {
		c.Set(d, dockerconfig.Entry{Username: "iamapikey", Password: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH", Email: "iamapikey"})
	}
	data := docBytes(t, c)
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	name := "reads-" + runID
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: srcNS}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: data}})
	from := types.NamespacedName{Namespace: srcNS, Name: name}

	namespaces := func(n int, label string) []string {
		out := make([]string, n)
		harness.Parallel(t, n, 16, func(i int) error {
			ns, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				GenerateName: "reads-", Labels: map[string]string{"registrykit.io/reads": label}}}, metav1.CreateOptions{})
			if err == nil {
				out[i] = ns.Name
			}
			return err
		})
		return out
	}

	// The copies already in the cluster, made by Copy itself.
	start := time.Now()
	namespaces(copies, runID+"-existing")
	rep, err := pullsecret.Copy(ctx, kube, from, pullsecret.Targets{Selector: labels.SelectorFromSet(labels.Set{"registrykit.io/reads": runID + "-existing"})},
		pullsecret.CopyOptions{Concurrency: 16})
	if err != nil || rep.Counts()["created"] != copies {
		t.Fatalf("setup Copy: %v, %v", rep.Counts(), err)
	}
	t.Logf("setup: %d namespaces and copies in %s", copies, time.Since(start).Round(time.Millisecond))

	// What the List costs at this size, in full and metadata only.
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sel := metav1.ListOptions{FieldSelector: "metadata.name=" + name}
	var fulls, metas []time.Duration
	for range 3 {
		start := time.Now()
		if _, err := kube.CoreV1().Secrets("").List(ctx, sel); err != nil {
			t.Fatal(err)
		}
		fulls = append(fulls, time.Since(start))
		start = time.Now()
		if _, err := md.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).List(ctx, sel); err != nil {
			t.Fatal(err)
		}
		metas = append(metas, time.Since(start))
	}

	raw := func(nss []string) time.Duration {
		start := time.Now()
		harness.Parallel(t, len(nss), conc, func(i int) error {
			_, err := kube.CoreV1().Secrets(nss[i]).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nss[i]}, Type: corev1.SecretTypeDockerConfigJson,
				Data: map[string][]byte{corev1.DockerConfigJsonKey: data}}, metav1.CreateOptions{})
			return err
		})
		return time.Since(start)
	}
	copyInto := func(nss []string) time.Duration {
		start := time.Now()
		rep, err := pullsecret.Copy(ctx, kube, from, pullsecret.Targets{Namespaces: nss}, pullsecret.CopyOptions{Concurrency: conc})
		d := time.Since(start)
		if err != nil || rep.Counts()["created"] != len(nss) {
			t.Fatalf("Copy into %d: %v, %v", len(nss), rep.Counts(), err)
		}
		return d
	}

	report := fmt.Sprintf("pullsecret Copy reads: %d copies in the cluster, concurrency %d, client QPS %d / Burst %d, best of %d\n",
		copies, conc, scaleQPS, scaleBurst, rounds)
	report += fmt.Sprintf("  one List of the %d copies: in full %s (of %v), metadata only %s (of %v)\n",
		copies, slices.Min(fulls).Round(100*time.Microsecond), fine(fulls), slices.Min(metas).Round(100*time.Microsecond), fine(metas))
	for _, n := range []int{5, 300} {
		var raws, copiesT []time.Duration
		for round := range rounds {
			a, b := namespaces(n, fmt.Sprintf("%s-raw-%d-%d", runID, n, round)), namespaces(n, fmt.Sprintf("%s-copy-%d-%d", runID, n, round))
			if round%2 == 0 {
				raws = append(raws, raw(a))
				copiesT = append(copiesT, copyInto(b))
			} else {
				copiesT = append(copiesT, copyInto(b))
				raws = append(raws, raw(a))
			}
		}
		r, cp := slices.Min(raws), slices.Min(copiesT)
		report += fmt.Sprintf("  into %3d new namespaces: %3d raw Creates %8s (of %v)  Copy %8s (of %v) -> %.2fx\n",
			n, n, r.Round(time.Microsecond*100), fine(raws), cp.Round(time.Microsecond*100), fine(copiesT), cp.Seconds()/r.Seconds())
	}
	t.Log("\n" + report)
	fmt.Print(report)
}

// fine rounds to 0.1 ms: a 5-namespace run takes a few milliseconds.
func fine(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Microsecond)
	}
	return out
}
