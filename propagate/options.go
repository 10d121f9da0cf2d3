package propagate

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/valid"
)

// Defaults of Options.
const (
	DefaultResync  = 10 * time.Minute
	DefaultWorkers = 8
	// DefaultLeaseName is the Lease LeaderElection uses when Name is empty.
	DefaultLeaseName = "registrykit-propagate"
	// DefaultComponent is the source component of the Events it records.
	DefaultComponent = "registrykit-propagate"
)

// Options configure a Propagator. Only Rules is required; every other zero
// value is the default.
type Options struct {
	// Rules are kept converged at once. At least one.
	Rules []Rule
	// Resync re-checks every namespace of every rule this often, from the
	// informers' caches (no API reads); zero means DefaultResync.
	Resync time.Duration
	// Workers reconcile this many namespaces in parallel; zero means
	// DefaultWorkers. The client's QPS/Burst bound them too.
	Workers int
	// LeaderElection, when set, makes the Propagator reconcile only while
	// it holds a Lease, so that several replicas can run. Nil reconciles
	// at once (one replica, or leader election done by the caller, as a
	// controller-runtime manager does: see NeedLeaderElection).
	LeaderElection *LeaderElection
	// Registerer receives the Prometheus metrics (see metrics.go for their
	// names). Nil means a registry of the Propagator's own, served by
	// MetricsHandler. Give controller-runtime's metrics.Registry to serve
	// them from a manager.
	Registerer prometheus.Registerer
	// MetricsAddr, when set, serves /metrics on this address (":8080")
	// while Start runs. "0" and "" serve nothing.
	MetricsAddr string
	// HealthAddr, when set, serves /healthz and /readyz on this address
	// while Start runs. "0" and "" serve nothing.
	HealthAddr string
	// EventComponent is the source component of Kubernetes Events; empty
	// means DefaultComponent. Events are recorded on failures and skips
	// that need attention.
	EventComponent string
	// OnOutcome, if set, is called (from the worker goroutines, so
	// possibly concurrently) with every decision that is not Unchanged:
	// writes, skips that need attention, failures.
	OnOutcome func(Outcome)
	// WriteOptions: FieldManager names the writer (default "registrykit");
	// Logger receives one record per decision (nil: silent). DryRun sends
	// every write with dryRun=All; nothing persists, so the same decisions
	// are made again at each resync.
	registrykit.WriteOptions
}

// LeaderElection configures the Lease. The zero value uses the Lease
// DefaultLeaseName in Namespace (required), the host name plus a random
// suffix as identity, and client-go's usual 15 s / 10 s / 2 s timings.
type LeaderElection struct {
	// Namespace of the Lease; required.
	Namespace string
	// Name of the Lease; empty means DefaultLeaseName.
	Name string
	// Identity of this replica; empty means host name + random suffix.
	Identity string
	// LeaseDuration is how long a lease is valid without renewal, and how
	// long other replicas wait before taking over; zero means 15 s.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader tries to renew before giving
	// up; zero means 10 s.
	RenewDeadline time.Duration
	// RetryPeriod is the wait between tries; zero means 2 s.
	RetryPeriod time.Duration
}

func (o *Options) validate() error {
	var errs field.ErrorList
	rules := field.NewPath("rules")
	if len(o.Rules) == 0 {
		errs = append(errs, field.Required(rules, "give at least one rule"))
	}
	names := map[string]int{}
	for i, r := range o.Rules {
		rp := rules.Index(i)
		errs = append(errs, r.validate(rp)...)
		if j, dup := names[r.name()]; dup {
			errs = append(errs, field.Duplicate(rp.Child("name"), r.name()+" (also rule "+strconv.Itoa(j)+"; give each rule a name)"))
		}
		names[r.name()] = i
	}
	// One writer per source: two rules that write the same secret
	// (refresher or builder mode) would overwrite each other.
	writers := map[string]int{}
	for i, r := range o.Rules {
		if r.Bearer == nil && r.InternalRegistry == nil {
			continue
		}
		if j, dup := writers[r.Source.String()]; dup {
			errs = append(errs, field.Duplicate(rules.Index(i).Child("source"), r.Source.String()+" (also written by rule "+strconv.Itoa(j)+")"))
			continue
		}
		writers[r.Source.String()] = i
	}
	errs = append(errs, valid.NotNegative(field.NewPath("resync"), o.Resync, o.Resync.String())...)
	errs = append(errs, valid.NotNegative(field.NewPath("workers"), o.Workers, o.Workers)...)
	if le := o.LeaderElection; le != nil {
		lp := field.NewPath("leaderElection")
		errs = append(errs, registrykit.ValidateNamespace(lp.Child("namespace"), le.Namespace)...)
		if le.Name != "" {
			errs = append(errs, registrykit.ValidateName(lp.Child("name"), le.Name)...)
		}
		for _, d := range []struct {
			name string
			d    time.Duration
		}{{"leaseDuration", le.LeaseDuration}, {"renewDeadline", le.RenewDeadline}, {"retryPeriod", le.RetryPeriod}} {
			errs = append(errs, valid.NotNegative(lp.Child(d.name), d.d, d.d.String())...)
		}
	}
	return registrykit.Invalid("propagate.Options", errs)
}
