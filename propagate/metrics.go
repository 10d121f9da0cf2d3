package propagate

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, all prefixed registrykit_propagate_.
const metricPrefix = "registrykit_propagate_"

// metrics are the Prometheus collectors of one Propagator.
type metrics struct {
	// reconciles counts reconciles of one namespace for one rule, by rule
	// and result ("success", "error", "requeue").
	reconciles *prometheus.CounterVec
	// errors counts failed reconciles and failed writes, by rule and kind
	// of object ("secret", "serviceaccount", "source").
	errors *prometheus.CounterVec
	// writes counts writes, by rule, kind and action.
	writes *prometheus.CounterVec
	// latency is the duration of one reconcile.
	latency *prometheus.HistogramVec
	// attached is the time from a namespace's creation to its copy being
	// present and attached to every service account of the rule, for
	// namespaces created while the Propagator runs.
	attached *prometheus.HistogramVec
	// sourceMissing is 1 while a rule's source secret does not exist.
	sourceMissing *prometheus.GaugeVec
	// depth is the work queue's length.
	depth prometheus.GaugeFunc
	// leader is 1 while this replica reconciles (holds the Lease, or runs
	// without leader election).
	leader prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, queueLen func() int) (*metrics, error) {
	m := &metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "reconciles_total",
			Help: "Reconciles of one namespace for one rule, by result.",
		}, []string{"rule", "result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "errors_total",
			Help: "Failures, by rule and object kind (secret, serviceaccount, source).",
		}, []string{"rule", "kind"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "writes_total",
			Help: "Writes to the API server, by rule, object kind and action.",
		}, []string{"rule", "kind", "action"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricPrefix + "reconcile_duration_seconds",
			Help:    "Duration of one reconcile.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"rule"}),
		attached: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricPrefix + "namespace_attached_seconds",
			Help:    "Time from a namespace's creation to its copy being present and attached to every service account of the rule (namespaces created while running).",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300},
		}, []string{"rule"}),
		sourceMissing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: metricPrefix + "source_missing",
			Help: "1 while the rule's source secret does not exist (copies are kept).",
		}, []string{"rule"}),
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: metricPrefix + "queue_depth",
			Help: "Namespaces waiting to be reconciled.",
		}, func() float64 { return float64(queueLen()) }),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: metricPrefix + "leader",
			Help: "1 while this replica reconciles (holds the Lease, or runs without leader election).",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.reconciles, m.errors, m.writes, m.latency, m.attached, m.sourceMissing, m.depth, m.leader} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
