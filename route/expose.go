package route

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"strings"

	routev1 "github.com/openshift/api/route/v1"
	routeclientset "github.com/openshift/client-go/route/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
	"github.com/registrykit/registrykit/internal/redact"
)

const (
	// BalanceAnnotation is the HAProxy router annotation that selects the
	// load-balancing algorithm; the guide sets it to "source" so that a
	// client's layer uploads stick to one registry pod.
	BalanceAnnotation = "haproxy.router.openshift.io/balance"
	// BalanceSource is the value ExposeRegistry writes to BalanceAnnotation.
	BalanceSource = "source"
	// RegistryPortName is the name of the registry port on both the 4.x and
	// the 3.11 registry service.
	RegistryPortName = "5000-tcp"
	// RegistryPort is the registry's port number.
	RegistryPort int32 = 5000
)

// ServiceRef names a Service.
type ServiceRef struct {
	Namespace, Name string
}

// KnownRegistryServices returns the integrated registry's service in the order
// they are probed: OpenShift 4.x first, then 3.11.
func KnownRegistryServices() []ServiceRef {
	return []ServiceRef{
		{Namespace: "openshift-image-registry", Name: "image-registry"},
		{Namespace: "default", Name: "docker-registry"},
	}
}

// ExposeOptions configure ExposeRegistry. The zero value detects the registry
// service and creates a reencrypt route with a router-generated host name and
// source balancing.
type ExposeOptions struct {
	// Hostname is spec.host. Empty lets the router generate
	// <name>-<namespace>.<apps domain>; an existing route's host is then kept.
	Hostname string
	// Namespace is the namespace of the registry service, which is also where
	// the route is created. Empty: detected (see KnownRegistryServices).
	Namespace string
	// Service is the registry service name. Empty: detected. If set,
	// Namespace must be set too.
	Service string
	// Name is the route name. Empty: the service name (as oc does).
	Name string
	// BalanceSource sets the haproxy.router.openshift.io/balance=source
	// annotation. nil means true. false means the annotation is not managed
	// (an existing value is left alone, never removed).
	BalanceSource *bool
	// InsecureEdgeTerminationPolicy is spec.tls.insecureEdgeTerminationPolicy
	// (None, Allow or Redirect). Empty, as with oc, leaves it unset on create
	// and unmanaged on update.
	InsecureEdgeTerminationPolicy routev1.InsecureEdgeTerminationPolicyType
	// DestinationCACertificate is a PEM CA bundle the router uses to verify
	// the registry's certificate. Empty, as with oc, means the service CA
	// (OpenShift 4.x registry certificates are signed by it); it is then not
	// managed on update.
	DestinationCACertificate string

	registrykit.WriteOptions
}

func (o ExposeOptions) balance() bool { return o.BalanceSource == nil || *o.BalanceSource }

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o ExposeOptions) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if o.Hostname != "" {
		errs = append(errs, validateHostname(path.Child("hostname"), o.Hostname)...)
	}
	if o.Namespace != "" {
		errs = append(errs, registrykit.ValidateNamespace(path.Child("namespace"), o.Namespace)...)
	}
	if o.Service != "" {
		for _, msg := range validation.IsDNS1035Label(o.Service) {
			errs = append(errs, field.Invalid(path.Child("service"), redact.Userinfo(o.Service), msg))
		}
		if o.Namespace == "" {
			errs = append(errs, field.Required(path.Child("namespace"), "required when service is set"))
		}
	}
	if o.Name != "" {
		errs = append(errs, registrykit.ValidateName(path.Child("name"), o.Name)...)
	}
	switch o.InsecureEdgeTerminationPolicy {
	case "", routev1.InsecureEdgeTerminationPolicyNone, routev1.InsecureEdgeTerminationPolicyAllow,
		routev1.InsecureEdgeTerminationPolicyRedirect:
	default:
		errs = append(errs, field.NotSupported(path.Child("insecureEdgeTerminationPolicy"),
			redact.Userinfo(string(o.InsecureEdgeTerminationPolicy)), []string{"None", "Allow", "Redirect"}))
	}
	if o.DestinationCACertificate != "" {
		if b, _ := pem.Decode([]byte(o.DestinationCACertificate)); b == nil || b.Type != "CERTIFICATE" {
			errs = append(errs, field.Invalid(path.Child("destinationCACertificate"), field.OmitValueType{},
				"must be a PEM CERTIFICATE block"))
		}
	}
	return errs
}

// validateHostname applies the router's rules: a lower-case RFC 1123
// subdomain of at most 253 characters whose labels have at most 63.
func validateHostname(fld *field.Path, h string) field.ErrorList {
	var details []string
	details = append(details, validation.IsDNS1123Subdomain(h)...)
	for label := range strings.SplitSeq(h, ".") {
		if len(label) > validation.DNS1123LabelMaxLength {
			details = append(details, fmt.Sprintf("a label is longer than %d characters", validation.DNS1123LabelMaxLength))
			break
		}
	}
	if len(details) == 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(fld, redact.Userinfo(h), strings.Join(details, "; "))}
}

// FindRegistryService returns the integrated registry's Service and its
// registry port. With name empty it probes KnownRegistryServices (restricted
// to namespace when that is set). A missing service matches
// ErrNoRegistryService (and, when it came from the API, apierrors.IsNotFound);
// a service without the port is a *PortError.
func FindRegistryService(ctx context.Context, kube kubernetes.Interface, namespace, name string) (*corev1.Service, corev1.ServicePort, error) {
	candidates := []ServiceRef{{Namespace: namespace, Name: name}}
	if name == "" {
		candidates = candidates[:0]
		for _, c := range KnownRegistryServices() {
			if namespace == "" || c.Namespace == namespace {
				candidates = append(candidates, c)
			}
		}
		if len(candidates) == 0 {
			return nil, corev1.ServicePort{}, fmt.Errorf("%w: no well-known registry service in namespace %q", ErrNoRegistryService, namespace)
		}
	}
	var notFound []string
	var forbidden []error
	for _, c := range candidates {
		svc, err := kube.CoreV1().Services(c.Namespace).Get(ctx, c.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			notFound = append(notFound, c.Namespace+"/"+c.Name)
			if len(candidates) == 1 {
				return nil, corev1.ServicePort{}, fmt.Errorf("%w: service %s/%s: %w", ErrNoRegistryService, c.Namespace, c.Name, err)
			}
			continue
		}
		if apierrors.IsForbidden(err) && len(candidates) > 1 {
			// While probing, a namespace the caller may not read (on 3.11,
			// openshift-image-registry does not even exist, and the
			// authorizer answers Forbidden before the API says NotFound) is
			// no reason to stop: the next candidate may be the registry.
			notFound = append(notFound, c.Namespace+"/"+c.Name+" (forbidden)")
			forbidden = append(forbidden, fmt.Errorf("get service %s/%s: %w", c.Namespace, c.Name, err))
			continue
		}
		if err != nil {
			return nil, corev1.ServicePort{}, fmt.Errorf("get service %s/%s: %w", c.Namespace, c.Name, err)
		}
		port, err := RegistryServicePort(svc)
		if err != nil {
			return nil, corev1.ServicePort{}, err
		}
		return svc, port, nil
	}
	return nil, corev1.ServicePort{}, errors.Join(append([]error{fmt.Errorf("%w: tried %s", ErrNoRegistryService, strings.Join(notFound, ", "))}, forbidden...)...)
}

// RegistryServicePort picks the registry port of svc: the port named
// "5000-tcp", else the only port if it is 5000. Anything else is a
// *PortError.
func RegistryServicePort(svc *corev1.Service) (corev1.ServicePort, error) {
	for _, p := range svc.Spec.Ports {
		if p.Name == RegistryPortName {
			return p, nil
		}
	}
	if len(svc.Spec.Ports) == 1 && svc.Spec.Ports[0].Port == RegistryPort {
		return svc.Spec.Ports[0], nil
	}
	perr := &PortError{Namespace: svc.Namespace, Service: svc.Name}
	for _, p := range svc.Spec.Ports {
		perr.Ports = append(perr.Ports, fmt.Sprintf("%s/%d", p.Name, p.Port))
	}
	return corev1.ServicePort{}, perr
}

// routeTargetPort is what spec.port.targetPort must say for a service port:
// its name when it has one, otherwise its target (container) port.
func routeTargetPort(p corev1.ServicePort) intstr.IntOrString {
	switch {
	case p.Name != "":
		return intstr.FromString(p.Name)
	case p.TargetPort.String() != "" && p.TargetPort.String() != "0":
		return p.TargetPort
	default:
		return intstr.FromInt32(p.Port)
	}
}

// ExposeRegistry creates or repairs a reencrypt Route to the integrated
// registry service: what `oc create route reencrypt --service=image-registry
// [--hostname H]` followed by `oc annotate route ...
// haproxy.router.openshift.io/balance=source` does, made idempotent.
//
// Inputs are validated before any API call. An existing route whose managed
// fields (see the package documentation) already match is reported Unchanged
// and not written; a drifted one is Updated in place with its other labels,
// annotations and spec fields kept, re-reading and retrying on conflict.
func ExposeRegistry(ctx context.Context, routes routeclientset.Interface, kube kubernetes.Interface, opts ExposeOptions) (routev1.Route, registrykit.Result, error) {
	if err := registrykit.Invalid("route.ExposeOptions", opts.Validate(nil)); err != nil {
		return routev1.Route{}, registrykit.Result{}, err
	}
	svc, port, err := FindRegistryService(ctx, kube, opts.Namespace, opts.Service)
	if err != nil {
		return routev1.Route{}, registrykit.Result{}, err
	}
	name := opts.Name
	if name == "" {
		name = svc.Name
	}
	client := routes.RouteV1().Routes(svc.Namespace)

	var (
		out routev1.Route
		res registrykit.Result
	)
	err = retry.OnError(kubewrite.ConflictBackoff, retriable, func() error {
		cur, err := client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			want := desiredRoute(svc, port, name, opts)
			created, err := client.Create(ctx, want, opts.CreateOptions())
			if err != nil {
				return err
			}
			out, res = *created, registrykit.Result{Action: registrykit.Created, Reason: "route did not exist"}
			return nil
		}
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		drift := reconcile(next, svc, port, opts)
		if len(drift) == 0 {
			out, res = *cur, registrykit.Result{Action: registrykit.Unchanged, Reason: "route matches"}
			return nil
		}
		updated, err := client.Update(ctx, next, opts.UpdateOptions())
		if err != nil {
			return err
		}
		out, res = *updated, registrykit.Result{Action: registrykit.Updated, Reason: "drifted: " + strings.Join(drift, ", ")}
		return nil
	})
	if err != nil {
		return routev1.Route{}, registrykit.Result{}, fmt.Errorf("expose registry service %s/%s as route %s: %w", svc.Namespace, svc.Name, name, err)
	}
	res = kubewrite.Record(ctx, opts.WriteOptions, "route", res, "route", svc.Namespace+"/"+name)
	return out, res, nil
}

// retriable: a conflict on update, or a create that lost a race.
func retriable(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }

func desiredRoute(svc *corev1.Service, port corev1.ServicePort, name string, opts ExposeOptions) *routev1.Route {
	r := &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: svc.Namespace,
			// oc copies the service's labels onto the new route.
			Labels: maps.Clone(svc.Labels),
		},
	}
	reconcile(r, svc, port, opts)
	return r
}

// reconcile sets the managed fields on r and returns the names of those that
// changed.
func reconcile(r *routev1.Route, svc *corev1.Service, port corev1.ServicePort, opts ExposeOptions) []string {
	var drift []string
	if (r.Spec.To.Kind != "Service" && r.Spec.To.Kind != "") || r.Spec.To.Name != svc.Name {
		drift = append(drift, "spec.to")
		r.Spec.To.Kind, r.Spec.To.Name = "Service", svc.Name
	}
	if r.Spec.To.Kind == "" {
		r.Spec.To.Kind = "Service" // the server's default; not drift
	}
	tp := routeTargetPort(port)
	if r.Spec.Port == nil || r.Spec.Port.TargetPort != tp {
		drift = append(drift, "spec.port")
		r.Spec.Port = &routev1.RoutePort{TargetPort: tp}
	}
	if opts.Hostname != "" && r.Spec.Host != opts.Hostname {
		drift = append(drift, "spec.host")
		r.Spec.Host = opts.Hostname
	}
	if r.Spec.TLS == nil {
		r.Spec.TLS = &routev1.TLSConfig{}
	}
	if r.Spec.TLS.Termination != routev1.TLSTerminationReencrypt {
		drift = append(drift, "spec.tls.termination")
		r.Spec.TLS.Termination = routev1.TLSTerminationReencrypt
	}
	if p := opts.InsecureEdgeTerminationPolicy; p != "" && r.Spec.TLS.InsecureEdgeTerminationPolicy != p {
		drift = append(drift, "spec.tls.insecureEdgeTerminationPolicy")
		r.Spec.TLS.InsecureEdgeTerminationPolicy = p
	}
	if ca := opts.DestinationCACertificate; ca != "" && r.Spec.TLS.DestinationCACertificate != ca {
		drift = append(drift, "spec.tls.destinationCACertificate")
		r.Spec.TLS.DestinationCACertificate = ca
	}
	if opts.balance() && r.Annotations[BalanceAnnotation] != BalanceSource {
		drift = append(drift, "annotation "+BalanceAnnotation)
		if r.Annotations == nil {
			r.Annotations = map[string]string{}
		}
		r.Annotations[BalanceAnnotation] = BalanceSource
	}
	return drift
}
