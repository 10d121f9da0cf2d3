package propagate

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

func noTransform(obj any) (any, error) { return obj, nil }

// testStore is a store on an informer that is never started: the test
// plays the informer by changing its store and calling observe, as the
// event handlers do.
func testStore(t *testing.T) (*store, cache.Store, *time.Time) {
	t.Helper()
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &corev1.Secret{}, 0, cache.Indexers{})
	st := newStore(inf)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return now }
	return st, inf.GetStore(), &now
}

func secretAt(rv string, uid types.UID, label string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "icr", ResourceVersion: rv, UID: uid,
		Labels: map[string]string{"seen": label}}}
}

// seen returns the label that tells which version get returned, or "" for
// none.
func seen(st *store) string {
	s, _ := st.get("team-a/icr").(*corev1.Secret)
	if s == nil {
		return ""
	}
	return s.Labels["seen"]
}

// A copy the Propagator created stays visible on every read until the
// informer shows it: the reconciles that follow a create (the service
// account's event, a source change) must not create it again. client-go's
// MutationCache forgot such an object on its first read, so after an API
// server restart, while the watches were being re-established, every
// later reconcile sent the create again and got AlreadyExists.
func TestStoreKeepsACreateUntilTheInformerShowsIt(t *testing.T) {
	st, informer, _ := testStore(t)
	st.wrote(secretAt("5", "u1", "written"), noTransform)
	for i := range 3 {
		if got := seen(st); got != "written" {
			t.Fatalf("read %d after the create: %q, want the written copy", i+1, got)
		}
	}
	shown := secretAt("5", "u1", "informer")
	if err := informer.Add(shown); err != nil {
		t.Fatal(err)
	}
	st.observe(shown, false)
	if got := seen(st); got != "informer" {
		t.Errorf("after the informer showed it: %q, want the informer's", got)
	}
	if n := len(st.written); n != 0 {
		t.Errorf("%d entries kept once the informer caught up", n)
	}
}

// An update is returned instead of the informer's older object, until the
// informer shows that version or a later one.
func TestStoreUpdateNewerThanTheInformer(t *testing.T) {
	st, informer, _ := testStore(t)
	if err := informer.Add(secretAt("5", "u1", "old")); err != nil {
		t.Fatal(err)
	}
	st.wrote(secretAt("7", "u1", "written"), noTransform)
	for range 2 {
		if got := seen(st); got != "written" {
			t.Fatalf("got %q, want the written version", got)
		}
	}
	later := secretAt("9", "u1", "later")
	if err := informer.Update(later); err != nil {
		t.Fatal(err)
	}
	st.observe(later, false)
	if got := seen(st); got != "later" {
		t.Errorf("got %q, want the informer's later version", got)
	}
	// A write answered before a newer one was seen does not go back.
	st.wrote(secretAt("7", "u1", "written"), noTransform)
	if got := seen(st); got != "later" {
		t.Errorf("after a late answer: %q, want the informer's later version", got)
	}
}

// A deletion the informer shows ends the written entry, and an answer to a
// write of the deleted object that arrives after the deletion's event does
// not bring it back.
func TestStoreDeletion(t *testing.T) {
	st, informer, _ := testStore(t)
	created := secretAt("5", "u1", "written")
	st.wrote(created, noTransform)
	shown := secretAt("5", "u1", "informer")
	if err := informer.Add(shown); err != nil {
		t.Fatal(err)
	}
	st.observe(shown, false)
	if err := informer.Delete(shown); err != nil {
		t.Fatal(err)
	}
	st.observe(cache.DeletedFinalStateUnknown{Key: "team-a/icr", Obj: secretAt("6", "u1", "deleted")}, true)
	if got := seen(st); got != "" {
		t.Errorf("after the deletion: %q, want none", got)
	}
	st.wrote(created, noTransform)
	if got := seen(st); got != "" {
		t.Errorf("after a late answer for the deleted object: %q, want none", got)
	}
	// A new object under the name, created after the deletion, is seen.
	st.wrote(secretAt("8", "u2", "recreated"), noTransform)
	if got := seen(st); got != "recreated" {
		t.Errorf("after re-creating: %q, want the new object", got)
	}
}

// A created object the informer never shows (deleted at once, and both
// events lost to a relist) is forgotten after mutationTTL.
func TestStoreEntryExpires(t *testing.T) {
	st, _, now := testStore(t)
	st.wrote(secretAt("5", "u1", "written"), noTransform)
	*now = now.Add(mutationTTL - time.Second)
	if got := seen(st); got != "written" {
		t.Fatalf("before the TTL: %q, want the written copy", got)
	}
	*now = now.Add(2 * time.Second)
	if got := seen(st); got != "" {
		t.Errorf("after the TTL: %q, want none", got)
	}
}

// Once the informer has shown what a first convergence wrote, the store
// holds a new, small map: a Go map never gives back the table of its
// largest size.
func TestStoreMapShrinksAfterABurst(t *testing.T) {
	st, informer, _ := testStore(t)
	const n = 1000
	for i := range n {
		s := secretAt("5", types.UID(fmt.Sprint("u", i)), "written")
		s.Namespace = fmt.Sprint("ns-", i)
		st.wrote(s, noTransform)
	}
	if st.peak != n {
		t.Fatalf("peak %d after %d writes", st.peak, n)
	}
	for i := range n {
		s := secretAt("5", types.UID(fmt.Sprint("u", i)), "informer")
		s.Namespace = fmt.Sprint("ns-", i)
		if err := informer.Add(s); err != nil {
			t.Fatal(err)
		}
		st.observe(s, false)
	}
	if len(st.written) != 0 || st.peak > n/8 {
		t.Errorf("after the informer caught up: %d entries, peak %d (want a map made for at most %d)", len(st.written), st.peak, n/8)
	}
}
