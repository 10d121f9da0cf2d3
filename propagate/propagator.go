package propagate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// ErrLeadershipLost is returned by Start when the Propagator lost its Lease
// while its context was still live. Exit and restart: the other replica
// has taken over.
var ErrLeadershipLost = errors.New("propagate: leader election lost")

// Propagator keeps the copies of its rules' source secrets converged in
// every selected namespace. Build it with New and run it with Start.
type Propagator struct {
	kube    kubernetes.Interface
	opts    Options
	rules   []Rule
	sources map[sourceKey]bool
	log     *slog.Logger

	// Indexes from what an informer reports to the rules it concerns.
	nonce  string    // see observedHashKey
	intern *interner // shares equal maps and strings of cached objects

	bySource   map[sourceKey][]int
	byCopyName map[string][]int
	bySA       map[string][]int
	// internalSAs are the service accounts builder-mode rules build from.
	internalSAs []string

	factories []informers.SharedInformerFactory
	nsInf     cache.SharedIndexInformer
	secrets   map[string]*store // by secret name
	sas       map[string]*store // by service account name

	queue    workqueue.TypedRateLimitingInterface[key]
	metrics  *metrics
	gatherer prometheus.Gatherer
	recorder record.EventRecorder // set by Start; nil before

	started   atomic.Bool
	synced    atomic.Bool
	startTime time.Time
	elector   *leaderelection.LeaderElector
	// leading tracks runWorkers started by the elector: Start waits for
	// it, and no run starts once Start has stopped the elector.
	leadMu      sync.Mutex
	leadStopped bool
	leading     sync.WaitGroup

	mu      sync.Mutex
	pending map[key]time.Time // new namespaces not converged yet, by creation time
	missing map[int]string    // rules whose source is missing or invalid, and why

	// Builder mode (internalregistry.go): dockercfg secret informers, and
	// the rules whose source was built (or failed to build) once.
	internalInf []cache.SharedIndexInformer
	built       map[int]bool

	// Refresher mode (bearer.go): the rules with a Bearer, by index.
	bearers  map[int]*bearer
	renewals *prometheus.CounterVec
}

// key is one unit of work: one namespace for one rule (by index). The
// empty namespace, which no namespace has, stands for the building of a
// builder-mode rule's source (buildKey).
type key struct {
	rule      int
	namespace string
}

// New validates opts and builds a Propagator on kube. Nothing is read or
// started until Start.
func New(kube kubernetes.Interface, opts Options) (*Propagator, error) {
	if kube == nil {
		return nil, errors.New("propagate.New: nil kubernetes.Interface")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Resync == 0 {
		opts.Resync = DefaultResync
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.EventComponent == "" {
		opts.EventComponent = DefaultComponent
	}
	p := &Propagator{
		kube:       kube,
		opts:       opts,
		rules:      slices.Clone(opts.Rules),
		sources:    map[sourceKey]bool{},
		nonce:      rand.Text()[:8] + ":",
		intern:     newInterner(),
		log:        opts.Log(),
		bySource:   map[sourceKey][]int{},
		byCopyName: map[string][]int{},
		bySA:       map[string][]int{},
		secrets:    map[string]*store{},
		sas:        map[string]*store{},
		pending:    map[key]time.Time{},
		missing:    map[int]string{},
		built:      map[int]bool{},
	}
	for i, r := range p.rules {
		sk := sourceKey{r.Source.Namespace, r.Source.Name}
		p.sources[sk] = true
		p.bySource[sk] = append(p.bySource[sk], i)
		p.byCopyName[r.copyName()] = append(p.byCopyName[r.copyName()], i)
		for _, sa := range r.serviceAccounts() {
			if !slices.Contains(p.bySA[sa], i) {
				p.bySA[sa] = append(p.bySA[sa], i)
			}
		}
		if ir := r.InternalRegistry; ir != nil && !r.Retired {
			p.internalSAs = append(p.internalSAs, ir.serviceAccount())
		}
	}
	p.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[key](5*time.Millisecond, 2*time.Minute),
		),
		workqueue.TypedRateLimitingQueueConfig[key]{Name: "registrykit-propagate"})

	reg := opts.Registerer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, p.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		p.gatherer = g
	}
	m, err := newMetrics(reg, p.queue.Len)
	if err != nil {
		return nil, fmt.Errorf("propagate: register metrics: %w", err)
	}
	p.metrics = m
	if err := p.newBearers(reg); err != nil {
		return nil, fmt.Errorf("propagate: refresher mode: %w", err)
	}
	if err := p.buildInformers(); err != nil {
		return nil, err
	}
	return p, nil
}

// buildInformers makes one namespace informer, one secret informer per
// name that a rule reads (its source and its copies, each by field
// selector on metadata.name) and one service account informer per name.
// None keeps an index: every read is by key, and client-go's default
// namespace index would hold a set per namespace in each.
func (p *Propagator) buildInformers() error {
	nsf := informers.NewSharedInformerFactoryWithOptions(p.kube, p.opts.Resync, informers.WithTransform(p.namespaceTransform))
	p.nsInf = nsf.InformerFor(&corev1.Namespace{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coreinformers.NewNamespaceInformer(c, resync, cache.Indexers{})
	})
	p.factories = append(p.factories, nsf)
	if _, err := p.nsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.onNamespace,
		UpdateFunc: func(_, obj any) { p.onNamespace(obj) },
		DeleteFunc: p.onNamespaceDelete,
	}); err != nil {
		return fmt.Errorf("propagate: namespace informer: %w", err)
	}

	byName := func(name string) func(*metav1.ListOptions) {
		return func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}
	}
	var secretNames []string
	for _, r := range p.rules {
		secretNames = append(secretNames, r.Source.Name, r.copyName())
	}
	slices.Sort(secretNames)
	for _, name := range slices.Compact(secretNames) {
		// No resync here: the namespace informer's resync re-checks every
		// namespace of every rule.
		f := informers.NewSharedInformerFactoryWithOptions(p.kube, 0, informers.WithTransform(p.secretTransform))
		st := newStore(f.InformerFor(&corev1.Secret{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
			return coreinformers.NewFilteredSecretInformer(c, metav1.NamespaceAll, resync, cache.Indexers{}, byName(name))
		}))
		if _, err := st.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { st.observe(obj, false); p.onSecret(nil, obj, false) },
			UpdateFunc: func(old, obj any) { st.observe(obj, false); p.onSecret(old, obj, false) },
			DeleteFunc: func(obj any) { st.observe(obj, true); p.onSecret(nil, obj, true) },
		}); err != nil {
			return fmt.Errorf("propagate: secret informer: %w", err)
		}
		p.secrets[name] = st
		p.factories = append(p.factories, f)
	}
	saNames := append(slices.Collect(maps.Keys(p.bySA)), p.internalSAs...)
	slices.Sort(saNames)
	for _, name := range slices.Compact(saNames) {
		f := informers.NewSharedInformerFactoryWithOptions(p.kube, 0, informers.WithTransform(p.serviceAccountTransform))
		st := newStore(f.InformerFor(&corev1.ServiceAccount{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
			return coreinformers.NewFilteredServiceAccountInformer(c, metav1.NamespaceAll, resync, cache.Indexers{}, byName(name))
		}))
		if _, err := st.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { st.observe(obj, false); p.onServiceAccount(nil, obj) },
			UpdateFunc: func(old, obj any) { st.observe(obj, false); p.onServiceAccount(old, obj) },
			DeleteFunc: func(obj any) { st.observe(obj, true) }, // nothing to restore until it is back
		}); err != nil {
			return fmt.Errorf("propagate: service account informer: %w", err)
		}
		p.sas[name] = st
		p.factories = append(p.factories, f)
	}
	return p.buildInternalInformers()
}

// onNamespace enqueues the namespace for every rule (also on resync).
func (p *Propagator) onNamespace(obj any) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return
	}
	isNew := p.synced.Load() && !ns.CreationTimestamp.Time.Before(p.startTime.Truncate(time.Second))
	for i := range p.rules {
		k := key{i, ns.Name}
		if isNew {
			p.mu.Lock()
			if _, seen := p.pending[k]; !seen {
				p.pending[k] = ns.CreationTimestamp.Time
			}
			p.mu.Unlock()
		}
		p.queue.Add(k)
	}
}

func (p *Propagator) onNamespaceDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return
	}
	p.mu.Lock()
	for i := range p.rules {
		delete(p.pending, key{i, ns.Name})
	}
	p.mu.Unlock()
}

// onSecret handles a source or a copy. A changed source enqueues every
// namespace of its rules; a changed copy enqueues its namespace. Resyncs
// (same resourceVersion) are left to the namespace informer.
func (p *Propagator) onSecret(old, obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	if o, ok := old.(*corev1.Secret); ok && s.ResourceVersion != "" && o.ResourceVersion == s.ResourceVersion {
		return
	}
	for _, i := range p.bySource[sourceKey{s.Namespace, s.Name}] {
		p.kickBearer(i)
		if r := p.rules[i]; r.InternalRegistry != nil && !r.Retired {
			p.queue.Add(buildKey(i)) // edited or deleted: build it again
		}
		if deleted {
			p.sourceMissing(i, "deleted")
			continue
		}
		p.sourcePresent(i)
		for _, ns := range p.nsInf.GetIndexer().ListKeys() {
			p.queue.Add(key{i, ns})
		}
	}
	for _, i := range p.byCopyName[s.Name] {
		p.queue.Add(key{i, s.Namespace})
	}
}

func (p *Propagator) onServiceAccount(old, obj any) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return
	}
	if o, ok := old.(*corev1.ServiceAccount); ok && sa.ResourceVersion != "" && o.ResourceVersion == sa.ResourceVersion {
		return
	}
	for _, i := range p.bySA[sa.Name] {
		p.queue.Add(key{i, sa.Namespace})
	}
	p.kickInternal(sa.Namespace, sa.Name)
}

// NeedLeaderElection tells a controller-runtime manager whether to run the
// Propagator only on its elected leader: true unless Options.LeaderElection
// makes the Propagator elect its own.
func (p *Propagator) NeedLeaderElection() bool { return p.opts.LeaderElection == nil }

// Start runs the Propagator until ctx is done: it serves the metrics and
// health endpoints (when their addresses are set), fills the informers'
// caches, and then — at once, or while it holds the Lease with
// LeaderElection — reconciles every selected namespace of every rule and
// every change after that. It satisfies controller-runtime's
// manager.Runnable.
//
// When ctx is done, it stops taking work, lets the reconciles in flight
// finish (each is bounded to 30 s), releases the Lease, flushes Events and
// returns nil. It returns ErrLeadershipLost if it lost the Lease first, and
// an error if an endpoint cannot listen. A Propagator starts once.
func (p *Propagator) Start(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("propagate: Start called twice")
	}
	p.startTime = time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	stopServers, err := p.serve()
	if err != nil {
		return err
	}
	defer stopServers()

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: p.kube.CoreV1().Events("")})
	p.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: p.opts.EventComponent})
	defer broadcaster.Shutdown()

	for _, f := range p.factories {
		f.Start(ctx.Done())
	}
	defer func() {
		cancel()
		for _, f := range p.factories {
			f.Shutdown()
		}
	}()
	synced := []cache.InformerSynced{p.nsInf.HasSynced}
	for _, st := range p.secrets {
		synced = append(synced, st.inf.HasSynced)
	}
	for _, st := range p.sas {
		synced = append(synced, st.inf.HasSynced)
	}
	for _, inf := range p.internalInf {
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		p.queue.ShutDown()
		return nil // ctx done before the caches filled
	}
	p.synced.Store(true)
	p.log.InfoContext(ctx, "propagate: caches synced", slog.Int("rules", len(p.rules)), slog.Int("namespaces", len(p.nsInf.GetIndexer().ListKeys())))
	for i, r := range p.rules {
		if src, _ := p.getCopy(p.secrets[r.Source.Name], r.Source.Namespace, r.Source.Name); src == nil && r.InternalRegistry == nil {
			p.sourceMissing(i, "not found")
		}
	}

	if p.opts.LeaderElection == nil {
		p.metrics.leader.Set(1)
		p.runWorkers(ctx)
		return nil
	}
	le, err := p.newElector()
	if err != nil {
		p.queue.ShutDown()
		return err
	}
	p.elector = le
	le.Run(ctx) // returns when ctx is done or the lease is lost
	p.leadMu.Lock()
	p.leadStopped = true
	p.leadMu.Unlock()
	p.queue.ShutDown()
	p.leading.Wait()
	if ctx.Err() == nil {
		return ErrLeadershipLost
	}
	return nil
}

// runWorkers reconciles until ctx is done, then shuts the queue down and
// waits for the reconciles in flight.
func (p *Propagator) runWorkers(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.opts.Workers {
		wg.Go(func() {
			for p.processNext(ctx) {
			}
		})
	}
	p.runBearers(ctx, &wg)
	<-ctx.Done()
	p.metrics.leader.Set(0)
	p.queue.ShutDown()
	wg.Wait()
}

// reconcileTimeout bounds one reconcile, which outlives a cancelled Start
// context so that a shutdown does not cut a write half-way.
const reconcileTimeout = 30 * time.Second

func (p *Propagator) processNext(ctx context.Context) bool {
	k, shutdown := p.queue.Get()
	if shutdown {
		return false
	}
	defer p.queue.Done(k)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reconcileTimeout)
	defer cancel()
	rule := p.rules[k.rule].name()
	start := time.Now()
	err := p.reconcile(rctx, k)
	p.metrics.latency.WithLabelValues(rule).Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		p.queue.Forget(k)
		p.metrics.reconciles.WithLabelValues(rule, "success").Inc()
	case errors.Is(err, errRequeue):
		p.queue.AddRateLimited(k)
		p.metrics.reconciles.WithLabelValues(rule, "requeue").Inc()
	default:
		p.queue.AddRateLimited(k)
		p.metrics.reconciles.WithLabelValues(rule, "error").Inc()
		p.log.WarnContext(ctx, "propagate: reconcile failed; retrying", slog.String("rule", rule),
			slog.String("namespace", k.namespace), slog.Any("error", err))
	}
	return true
}

func (p *Propagator) newElector() (*leaderelection.LeaderElector, error) {
	le := *p.opts.LeaderElection
	if le.Name == "" {
		le.Name = DefaultLeaseName
	}
	if le.Identity == "" {
		host, _ := os.Hostname()
		le.Identity = host + "_" + string(uuid.NewUUID())
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&le.LeaseDuration, 15*time.Second)
	def(&le.RenewDeadline, 10*time.Second)
	def(&le.RetryPeriod, 2*time.Second)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
		Client:     p.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity, EventRecorder: p.recorder},
	}
	return leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            le.Name,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				p.log.InfoContext(ctx, "propagate: leading", slog.String("lease", le.Namespace+"/"+le.Name), slog.String("identity", le.Identity))
				p.leadMu.Lock()
				if p.leadStopped {
					p.leadMu.Unlock()
					return
				}
				p.leading.Add(1)
				p.leadMu.Unlock()
				defer p.leading.Done()
				p.metrics.leader.Set(1)
				p.runWorkers(ctx)
			},
			OnStoppedLeading: func() {
				p.metrics.leader.Set(0)
			},
		},
	})
}
