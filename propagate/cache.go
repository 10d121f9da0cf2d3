package propagate

import (
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/registrykit/registrykit/pullsecret"
)

// The informers keep only what the decisions read. A copy's data is the
// largest part of it and the same in every namespace, so the cache holds
// its fingerprint instead, under observedHashKey: a copy whose fingerprint
// equals the desired content hash holds the source's data exactly, and
// one whose fingerprint differs is stale. The key exists only in memory;
// nothing read from the cache is written back with it.
// Its value starts with a per-Propagator random prefix, so that the
// transform knows its own output (it must be idempotent) and a secret
// written with that annotation cannot pass for one it fingerprinted.
const observedHashKey = "propagate.registrykit.io/observed-content-hash"

// secretTransform strips a secret before the informer stores it: managed
// fields always, and the data of every secret that is not a rule's source.
// A copy's labels, annotations, name and type are shared with the other
// copies that have the same (see interner).
func (p *Propagator) secretTransform(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	s.ManagedFields = nil
	if p.sources[sourceKey{s.Namespace, s.Name}] {
		return s, nil
	}
	if v, ok := s.Annotations[observedHashKey]; ok && s.Data == nil && strings.HasPrefix(v, p.nonce) {
		return s, nil // transformed already (the transform must be idempotent)
	}
	fp := p.nonce + pullsecret.ContentHash(s)
	s.Data, s.StringData = nil, nil
	ann := make(map[string]string, len(s.Annotations)+1)
	maps.Copy(ann, s.Annotations)
	ann[observedHashKey] = fp
	s.Annotations = p.intern.stringMap(ann)
	s.Labels = p.intern.stringMap(s.Labels)
	s.Name = p.intern.string(s.Name)
	s.Type = corev1.SecretType(p.intern.string(string(s.Type)))
	return s, nil
}

// namespaceTransform keeps a namespace's name, labels, creation time,
// deletion mark and phase. The label kubernetes.io/metadata.name, which
// the API server sets to the name on every namespace, is not kept but
// read from the name (namespaceLabels); the other labels are shared
// between the namespaces that have the same.
func (p *Propagator) namespaceTransform(obj any) (any, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	ns.ManagedFields, ns.Annotations, ns.OwnerReferences, ns.Finalizers = nil, nil, nil, nil
	ns.UID = ""
	ns.Spec = corev1.NamespaceSpec{}
	ns.Status = corev1.NamespaceStatus{Phase: ns.Status.Phase}
	l := ns.Labels
	if l[corev1.LabelMetadataName] == ns.Name {
		l = maps.Clone(l) // the map may be a shared one already
		delete(l, corev1.LabelMetadataName)
	}
	ns.Labels = p.intern.stringMap(l)
	return ns, nil
}

// namespaceLabels are a cached namespace's labels as the server has them.
type namespaceLabels struct{ ns *corev1.Namespace }

func (l namespaceLabels) Has(key string) bool {
	_, ok := l.Lookup(key)
	return ok
}

func (l namespaceLabels) Get(key string) string {
	v, _ := l.Lookup(key)
	return v
}

func (l namespaceLabels) Lookup(key string) (string, bool) {
	if v, ok := l.ns.Labels[key]; ok {
		return v, true
	}
	if key == corev1.LabelMetadataName {
		return l.ns.Name, true
	}
	return "", false
}

// serviceAccountTransform drops a service account's managed fields and
// shares its name, labels and annotations with the other accounts that
// have the same. The rest stays: an update sends the whole object, and
// the server keeps managed fields that an update omits.
func (p *Propagator) serviceAccountTransform(obj any) (any, error) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return obj, nil
	}
	sa.ManagedFields = nil
	sa.Name = p.intern.string(sa.Name)
	sa.Labels = p.intern.stringMap(sa.Labels)
	sa.Annotations = p.intern.stringMap(sa.Annotations)
	for i := range sa.ImagePullSecrets {
		sa.ImagePullSecrets[i].Name = p.intern.string(sa.ImagePullSecrets[i].Name)
	}
	return sa, nil
}

// sourceKey names a secret.
type sourceKey struct{ namespace, name string }

// store is an informer's cache plus the objects this Propagator wrote
// that the informer has not shown yet: a reconcile that follows a write
// sees the write before the informer does, instead of writing again from
// a stale copy (which the server would answer with a Conflict or
// AlreadyExists). A written object is returned in place of the
// informer's until the informer shows that resourceVersion or a later
// one, or the object's deletion, or mutationTTL has passed. A deletion
// the informer shows is remembered for mutationTTL too, so that the
// answer to a write of the deleted object, handled after the deletion's
// event, does not bring it back.
//
// client-go's MutationCache does this too, but its GetByKey drops an
// object that its informer does not hold yet on the first read: the next
// reconcile then created the copy again and got AlreadyExists, in a
// requeue loop with a growing back-off for as long as the informer lagged
// (seconds after an API server restart, while watches reconnect).
type store struct {
	inf cache.SharedIndexInformer
	now func() time.Time

	mu      sync.Mutex
	written map[string]written // by namespace/name
	sweepAt int                // sweep expired entries at this size
	peak    int                // the most entries written has held since it was made
}

// written is an object this Propagator wrote, or (obj nil) a deletion the
// informer showed.
type written struct {
	obj     any
	rv      uint64
	uid     types.UID
	expires time.Time
}

// mutationTTL bounds how long a written object shadows the informer's.
const mutationTTL = time.Minute

func newStore(inf cache.SharedIndexInformer) *store {
	return &store{inf: inf, now: time.Now, written: map[string]written{}, sweepAt: 64}
}

// get returns the newer of the informer's object and the one written.
func (s *store) get(key string) any {
	obj, ok, err := s.inf.GetStore().GetByKey(key)
	if err != nil {
		obj, ok = nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, has := s.written[key]; has {
		switch {
		case s.now().After(w.expires):
			s.forget(key)
		case w.obj == nil:
			// A deletion: the informer's object, if any, is a later one.
		case !ok:
			return w.obj
		default:
			if m, err := meta.Accessor(obj); err == nil && revision(m) < w.rv {
				return w.obj
			}
			s.forget(key) // the informer has caught up
		}
	}
	if !ok {
		return nil
	}
	return obj
}

// observe keeps the written entries in step with the informer; call it
// from the event handlers.
func (s *store) observe(obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	key, rv, uid, ok := identify(obj)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, has := s.written[key]
	if !deleted {
		if has && w.obj != nil && rv >= w.rv {
			s.forget(key)
		}
		return
	}
	if has && w.obj != nil && rv < w.rv && w.uid != uid {
		return // ours is a newer object of that name, made after this one
	}
	s.add(key, written{rv: rv, uid: uid})
}

// wrote records an object the server returned for a write; transform is
// the informer's, so the entry looks like what the informer will hold.
func (s *store) wrote(obj runtime.Object, transform cache.TransformFunc) {
	t, err := transform(obj)
	if err != nil {
		return
	}
	key, rv, uid, ok := identify(t)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, has := s.written[key]; has && !s.now().After(w.expires) {
		if w.rv > rv {
			return // a later version is known already
		}
		if w.obj == nil && (w.rv == rv || w.uid == uid) {
			return // deleted since this write
		}
	}
	s.add(key, written{obj: t, rv: rv, uid: uid})
}

// add stores w under key for mutationTTL, and drops the expired entries
// whenever the map has doubled since they were last dropped. Call it with
// s.mu held.
func (s *store) add(key string, w written) {
	w.expires = s.now().Add(mutationTTL)
	s.written[key] = w
	s.peak = max(s.peak, len(s.written))
	if len(s.written) < s.sweepAt {
		return
	}
	now := s.now()
	for k, w := range s.written {
		if now.After(w.expires) {
			delete(s.written, k)
		}
	}
	s.sweepAt = max(64, 2*len(s.written))
	s.compact()
}

// forget deletes key's entry. Call it with s.mu held.
func (s *store) forget(key string) {
	delete(s.written, key)
	s.compact()
}

// compact moves the entries to a new map once they are down to an eighth
// of their peak: a Go map keeps the table of the most entries it ever held
// (thousands during a first convergence, a few hundred bytes per namespace
// for as long as the process runs). Call it with s.mu held.
func (s *store) compact() {
	if s.peak <= 64 || len(s.written) > s.peak/8 {
		return
	}
	fresh := make(map[string]written, len(s.written))
	for k, w := range s.written {
		fresh[k] = w
	}
	s.written, s.peak = fresh, len(fresh)
}

// identify returns obj's cache key ("<namespace>/<name>"), revision and
// uid.
func identify(obj any) (key string, rv uint64, uid types.UID, ok bool) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", 0, "", false
	}
	return m.GetNamespace() + "/" + m.GetName(), revision(m), m.GetUID(), true
}

// revision is m's resourceVersion as a number (the API server's are etcd
// revisions: comparable across objects of a resource), 0 if it has none.
func revision(m metav1.Object) uint64 {
	rv, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
	return rv
}

// getCopy returns a deep copy of the cached secret namespace/name without
// the in-memory fingerprint, and the fingerprint ("" for a source, whose
// data is cached).
func (p *Propagator) getCopy(st *store, namespace, name string) (*corev1.Secret, string) {
	s, ok := st.get(namespace + "/" + name).(*corev1.Secret)
	if !ok {
		return nil, ""
	}
	s = s.DeepCopy()
	fp, ours := strings.CutPrefix(s.Annotations[observedHashKey], p.nonce)
	delete(s.Annotations, observedHashKey)
	if !ours {
		fp = ""
	}
	return s, fp
}

func getServiceAccount(st *store, namespace, name string) *corev1.ServiceAccount {
	sa, _ := st.get(namespace + "/" + name).(*corev1.ServiceAccount)
	return sa
}

func getNamespace(inf cache.SharedIndexInformer, name string) *corev1.Namespace {
	obj, ok, err := inf.GetIndexer().GetByKey(name)
	if err != nil || !ok {
		return nil
	}
	ns, _ := obj.(*corev1.Namespace)
	return ns
}
