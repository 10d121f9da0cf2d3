package propagate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/internal/valid"
)

// Bearer puts a rule in refresher mode: the Propagator writes the rule's
// source secret itself, as a kubernetes.io/dockerconfigjson secret holding
// username "iambearer" and an IAM access token for Domains
// (icr.BearerConfig), and rewrites it with a new token before the old one
// expires, as icr.RefreshPolicy decides (at 80% of the token's lifetime).
// The copies follow the source as in any rule. No API key is stored in the
// cluster: the token source holds it outside (a key in the controller's
// environment or a mounted file), or there is none (a trusted profile with
// the controller's compute-resource token).
//
// A copy is written only while the source's token stays valid for more
// than the policy's margin, so a namespace created at any moment gets a
// valid token or, while none can be had, nothing yet. In an IAM outage the
// source keeps its last token while it is valid, renewal is retried with
// a back-off, and each failure is a Warning Event on the source
// (TokenRenewalFailed), a log record and a count in
// registrykit_propagate_token_renewals_total{result="error"}. A token that
// expires during a long outage is left where it was written (nothing
// writes an expired token, and nothing deletes), and replaced as soon as
// IAM answers.
//
// The source secret belongs to the Propagator in this mode: what else it
// holds is replaced (its labels and annotations are kept); an existing
// secret of another type is left alone and reported. Only one rule may
// write a given source, in refresher or builder mode (other rules may
// copy it). A
// Retired rule stops renewing and leaves its source as it is: its token
// expires.
type Bearer struct {
	// TokenSource supplies the IAM access tokens: iam.NewAPIKeyTokenSource
	// with a key kept outside the cluster, or
	// iam.NewTrustedProfileTokenSource with the controller's
	// compute-resource token. Required.
	TokenSource iam.TokenSource
	// Domains are the registry domains of the credential. Empty means
	// every icr.io domain, public and private (icr.Domains).
	Domains []string
	// Policy decides when to renew and what may be written; the zero
	// value is icr's default.
	Policy icr.RefreshPolicy
}

func (b *Bearer) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if b.TokenSource == nil {
		errs = append(errs, field.Required(p.Child("tokenSource"), "an IAM token source"))
	}
	errs = append(errs, valid.NotNegative(p.Child("policy", "margin"), b.Policy.Margin, b.Policy.Margin.String())...)
	return append(errs, icr.ValidateDomains(p.Child("domains"), b.Domains)...)
}

// bearer is the running state of one rule in refresher mode.
type bearer struct {
	rule      int
	refresher *icr.Refresher
	policy    icr.RefreshPolicy
	kick      chan struct{} // wakes the refresh loop; capacity 1
	// ready is set once the source held or got a writable token: until
	// then a missing source is expected, not reported.
	ready atomic.Bool

	mu    sync.Mutex
	token iam.Token // what the source holds, as last seen or written
}

// newBearers builds the refreshers of the rules in refresher mode and
// registers the token metrics.
func (p *Propagator) newBearers(reg prometheus.Registerer) error {
	p.bearers = map[int]*bearer{}
	for i, r := range p.rules {
		if r.Bearer == nil || r.Retired {
			continue // a retired rule copies nothing, so it renews nothing
		}
		domains := r.Bearer.Domains
		if len(domains) == 0 {
			domains, _ = icr.Domains(icr.DomainOptions{})
		}
		ref, err := icr.NewRefresher(r.Bearer.TokenSource, domains, icr.RefresherOptions{Policy: r.Bearer.Policy, Logger: p.log})
		if err != nil {
			return err
		}
		p.bearers[i] = &bearer{rule: i, refresher: ref, policy: r.Bearer.Policy, kick: make(chan struct{}, 1)}
	}
	if len(p.bearers) == 0 {
		return nil
	}
	p.renewals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricPrefix + "token_renewals_total",
		Help: "Renewals of a refresher-mode rule's iambearer token, by result (success, error).",
	}, []string{"rule", "result"})
	return errors.Join(reg.Register(p.renewals), reg.Register(&tokenCollector{p: p}))
}

// kickBearer wakes rule i's refresh loop, if it has one.
func (p *Propagator) kickBearer(i int) {
	if b := p.bearers[i]; b != nil {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// runBearers runs the refresh loop of every rule in refresher mode until
// ctx is done. It is called while the Propagator reconciles (it holds the
// Lease, or runs without leader election).
func (p *Propagator) runBearers(ctx context.Context, wg *sync.WaitGroup) {
	for _, b := range p.bearers {
		wg.Go(func() { p.refreshLoop(ctx, b) })
	}
}

func (p *Propagator) refreshLoop(ctx context.Context, b *bearer) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.kick:
		}
		rctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
		next := p.refresh(rctx, b)
		cancel()
		t.Reset(max(time.Until(next), 0))
	}
}

// refresh renews rule b's source when due and writes it when it differs
// from what the token should be; it returns when to look again.
func (p *Propagator) refresh(ctx context.Context, b *bearer) time.Time {
	r := &p.rules[b.rule]
	src, _ := p.getCopy(p.secrets[r.Source.Name], r.Source.Namespace, r.Source.Name)
	stored := storedBearer(src)
	out, err := b.refresher.Refresh(ctx, stored)
	switch {
	case err != nil:
		p.renewals.WithLabelValues(r.name(), "error").Inc()
		p.event(sourceRef(r), corev1.EventTypeWarning, "TokenRenewalFailed", fmt.Sprintf("rule %s: %v", r.name(), err))
	case out.Renewed:
		p.renewals.WithLabelValues(r.name(), "success").Inc()
	}
	b.set(stored)
	if !out.Writable {
		return out.Next
	}
	b.ready.Store(true)
	want, err := out.Config.Marshal()
	if err != nil {
		return out.Next // cannot happen: the document was built from a token and domains
	}
	if src != nil && src.Type == corev1.SecretTypeDockerConfigJson && len(src.Data) == 1 && bytes.Equal(src.Data[corev1.DockerConfigJsonKey], want) {
		b.set(out.Token)
		return out.Next
	}
	if err := p.writeSource(ctx, b, src, want, out.Token); err != nil {
		if errors.Is(err, errRequeue) {
			return time.Now().Add(100 * time.Millisecond)
		}
		return time.Now().Add(b.policy.Backoff(1, out.Token.Lifetime()))
	}
	b.set(out.Token)
	return out.Next
}

// writeSource creates or updates rule b's source with doc.
func (p *Propagator) writeSource(ctx context.Context, b *bearer, src *corev1.Secret, doc []byte, tok iam.Token) error {
	r := &p.rules[b.rule]
	k := key{b.rule, r.Source.Namespace}
	secrets := p.kube.CoreV1().Secrets(r.Source.Namespace)
	res := registrykit.Result{Action: registrykit.Updated, Reason: "iambearer token valid until " + tok.Expiry.UTC().Format(time.RFC3339)}
	var (
		got *corev1.Secret
		err error
	)
	switch {
	case src == nil:
		res.Action = registrykit.Created
		got, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.Source.Namespace, Name: r.Source.Name},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: doc},
		}, p.opts.CreateOptions())
		if apierrors.IsAlreadyExists(err) {
			return errRequeue
		}
	case src.Type != corev1.SecretTypeDockerConfigJson:
		err := fmt.Errorf("source secret %s for rule %s has type %s: refresher mode writes only %s", r.Source, r.name(), src.Type, corev1.SecretTypeDockerConfigJson)
		p.metrics.errors.WithLabelValues(r.name(), "source").Inc()
		p.report(k, kindSecret, r.Source.Name, registrykit.Result{Action: registrykit.Failed, Reason: "source of another type"}, err)
		p.event(sourceRef(r), corev1.EventTypeWarning, "TokenWriteFailed", err.Error())
		return err
	default:
		upd := src.DeepCopy()
		upd.Data = map[string][]byte{corev1.DockerConfigJsonKey: doc}
		got, err = secrets.Update(ctx, upd, p.opts.UpdateOptions())
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return errRequeue
		}
	}
	if err != nil {
		err = fmt.Errorf("%s source secret %s for rule %s: %w", res.Action, r.Source, r.name(), err)
		p.metrics.errors.WithLabelValues(r.name(), "source").Inc()
		p.report(k, kindSecret, r.Source.Name, registrykit.Result{Action: registrykit.Failed, Reason: res.Reason}, err)
		p.event(sourceRef(r), corev1.EventTypeWarning, "TokenWriteFailed", err.Error())
		return err
	}
	p.sawWrite(p.secrets[r.Source.Name], got, p.secretTransform)
	p.wrote(k, kindSecret, r.Source.Name, res)
	return nil
}

// quietMissing reports whether a missing or tokenless source of rule i
// is expected and not worth an Event: the rule is in refresher mode and
// its first token is not there yet (a failure to get it is reported as
// TokenRenewalFailed).
func (p *Propagator) quietMissing(i int) bool {
	b := p.bearers[i]
	return b != nil && !b.ready.Load()
}

// bearerUnusable says why rule i's source may not be copied now, or "":
// in refresher mode, a copy is written only while the source's token stays
// valid for more than the margin.
func (p *Propagator) bearerUnusable(i int, src *corev1.Secret) string {
	b := p.bearers[i]
	if b == nil {
		return ""
	}
	tok := b.precise(storedBearer(src))
	switch {
	case tok.IsZero():
		return "holds no iambearer token yet"
	case !b.policy.Writable(tok, time.Now()):
		return "holds an iambearer token that expires within the margin (waiting for renewal)"
	}
	return ""
}

// storedBearer is the iambearer token src holds (the zero Token when none).
func storedBearer(src *corev1.Secret) iam.Token {
	if src == nil {
		return iam.Token{}
	}
	cfg, err := dockerconfig.ParseSecret(string(src.Type), src.Data)
	if err != nil {
		return iam.Token{}
	}
	tok, _ := icr.BearerToken(cfg)
	return tok
}

// precise returns the token the refresher got for the same value (its
// times are this machine's), else tok.
func (b *bearer) precise(tok iam.Token) iam.Token {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.token.IsZero() && b.token.Value == tok.Value {
		return b.token
	}
	return tok
}

// set records what the source holds; a token with the same value keeps
// the more precise times already known.
func (b *bearer) set(tok iam.Token) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if tok.IsZero() || b.token.Value != tok.Value || tok.IssuedAt.After(b.token.IssuedAt) {
		b.token = tok
	}
}

func sourceRef(r *Rule) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: kindSecret, APIVersion: "v1", Namespace: r.Source.Namespace, Name: r.Source.Name}
}

// tokenCollector reports, at each scrape, the age and time to expiry of
// the token each refresher-mode rule's source holds.
type tokenCollector struct{ p *Propagator }

var (
	tokenAgeDesc = prometheus.NewDesc(metricPrefix+"token_age_seconds",
		"Age of the iambearer token the rule's source holds (since IAM issued it).", []string{"rule"}, nil)
	tokenExpiryDesc = prometheus.NewDesc(metricPrefix+"token_expiry_seconds",
		"Time until the iambearer token the rule's source holds expires (negative once expired).", []string{"rule"}, nil)
)

func (c *tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tokenAgeDesc
	ch <- tokenExpiryDesc
}

func (c *tokenCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, b := range c.p.bearers {
		b.mu.Lock()
		tok := b.token
		b.mu.Unlock()
		if tok.IsZero() || tok.Expiry.IsZero() {
			continue
		}
		rule := c.p.rules[b.rule].name()
		if !tok.IssuedAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(tokenAgeDesc, prometheus.GaugeValue, now.Sub(tok.IssuedAt).Seconds(), rule)
		}
		ch <- prometheus.MustNewConstMetric(tokenExpiryDesc, prometheus.GaugeValue, tok.Expiry.Sub(now).Seconds(), rule)
	}
}
