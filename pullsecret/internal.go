package pullsecret

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/redact"
)

// The OpenShift annotation on a service account naming its managed
// dockercfg secret (OpenShift 4.16 and later).
const internalPullSecretRefAnnotation = "openshift.io/internal-registry-pull-secret-ref"

// internalRegistryHosts are the service names the OpenShift
// service-account pull-secret controller writes keys for, best first.
var internalRegistryHosts = []string{
	"image-registry.openshift-image-registry.svc",               // OpenShift 4
	"image-registry.openshift-image-registry.svc.cluster.local", // OpenShift 4
	"docker-registry.default.svc",                               // OpenShift 3.11
	"docker-registry.default.svc.cluster.local",                 // OpenShift 3.11
}

// InternalOptions tune InternalRegistrySecret.
type InternalOptions struct {
	// ServiceAccount whose managed dockercfg secret holds the credential;
	// empty means "default".
	ServiceAccount string
	// Host is the exposed registry route, "host" or "host:port" (required),
	// e.g. "default-route-openshift-image-registry.apps.example.com".
	Host string
	// Name of the secret to write; empty means "<ServiceAccount>-registry-route".
	Name string
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o InternalOptions) Validate(path *field.Path) field.ErrorList {
	sa, name := o.names()
	errs := registrykit.ValidateName(path.Child("serviceAccount"), sa)
	errs = append(errs, registrykit.ValidateName(path.Child("name"), name)...)
	switch {
	case o.Host == "":
		errs = append(errs, field.Required(path.Child("host"), "the route host[:port]"))
	default:
		if err := validateHostPort(o.Host); err != nil {
			errs = append(errs, field.Invalid(path.Child("host"), redact.Userinfo(o.Host), err.Error()))
		}
	}
	return errs
}

// names returns the service account and the secret name, defaults applied.
func (o InternalOptions) names() (sa, name string) {
	sa = o.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	name = o.Name
	if name == "" {
		name = sa + "-registry-route"
	}
	return sa, name
}

// InternalRegistrySecret writes a kubernetes.io/dockerconfigjson secret in
// namespace that lets clients outside the cluster (or anything pulling
// through the route) use the internal registry with a service account's
// credential. It replaces the guide's steps: find the `<sa>-dockercfg-*`
// secret, base64-decode its legacy .dockercfg, take the entry for the
// registry service (e.g. "image-registry.openshift-image-registry.svc:5000"
// or "172.30.x.x:5000"), and re-key it to the route host.
//
// The secret is found through the service account (the
// openshift.io/internal-registry-pull-secret-ref annotation, then its
// imagePullSecrets and secrets references), else by listing the namespace's
// kubernetes.io/dockercfg secrets named "<sa>-dockercfg-*". The result is
// written with Apply (same Result semantics).
//
// Limits: the credential is the service account's token, which OpenShift
// rotates (4.16+: bound tokens, about hourly renewal); the call does not
// follow it — rerun it, let a propagate.Rule with InternalRegistry rerun
// it on every rotation, or prefer a pull secret with a long-lived
// credential for use outside the cluster.
func InternalRegistrySecret(ctx context.Context, kube kubernetes.Interface, namespace string, opts InternalOptions) (registrykit.Result, error) {
	sa, name := opts.names()
	errs := append(registrykit.ValidateNamespace(field.NewPath("namespace"), namespace), opts.Validate(nil)...)
	wrap := func(err error) error {
		return fmt.Errorf("internal registry secret %s/%s from serviceaccount %s: %w", namespace, name, sa, err)
	}
	if err := invalid("pullsecret.InternalRegistrySecret", errs); err != nil {
		return registrykit.Result{}, wrap(err)
	}

	src, err := findDockercfgSecret(ctx, kube, namespace, sa)
	if err != nil {
		return registrykit.Result{}, wrap(err)
	}
	legacy, err := dockerconfig.ParseSecret(string(src.Type), src.Data)
	if err != nil {
		return registrykit.Result{}, wrap(fmt.Errorf("secret %s/%s: %w", namespace, src.Name, err))
	}
	key, entry, err := internalEntry(legacy)
	if err != nil {
		return registrykit.Result{}, wrap(fmt.Errorf("secret %s/%s: %w", namespace, src.Name, err))
	}
	user, pass, err := credentials(entry)
	if err != nil {
		return registrykit.Result{}, wrap(fmt.Errorf("secret %s/%s entry %s: %w", namespace, src.Name, key, err))
	}
	cfg := &dockerconfig.Config{}
	cfg.Set(opts.Host, dockerconfig.Entry{Username: user, Password: pass, Email: entry.Email})
	res, err := Apply(ctx, kube, namespace, name, cfg, opts.WriteOptions)
	if err != nil {
		return res, wrap(err)
	}
	return res, nil
}

func validateHostPort(s string) error {
	if strings.Contains(s, "/") {
		return fmt.Errorf("want host or host:port, without scheme or path")
	}
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || port[0] == '0' {
			return fmt.Errorf("port must be a number from 1 to 65535")
		}
		host = h
	}
	if host == "" {
		return fmt.Errorf("empty host")
	}
	_, err := dockerconfig.NormalizeServer(s)
	return err
}

// findDockercfgSecret locates the service account's managed
// kubernetes.io/dockercfg secret.
func findDockercfgSecret(ctx context.Context, kube kubernetes.Interface, namespace, sa string) (*corev1.Secret, error) {
	prefix := sa + "-dockercfg-"
	acct, err := kube.CoreV1().ServiceAccounts(namespace).Get(ctx, sa, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &NotFoundError{Kind: "serviceaccount", Namespace: namespace, Name: sa, Err: err}
	}
	if err != nil {
		return nil, err
	}
	var candidates []string
	if ref := acct.Annotations[internalPullSecretRefAnnotation]; ref != "" {
		candidates = append(candidates, ref)
	}
	for _, r := range acct.ImagePullSecrets {
		if strings.HasPrefix(r.Name, prefix) {
			candidates = append(candidates, r.Name)
		}
	}
	for _, r := range acct.Secrets {
		if strings.HasPrefix(r.Name, prefix) {
			candidates = append(candidates, r.Name)
		}
	}
	for _, c := range candidates {
		s, err := kube.CoreV1().Secrets(namespace).Get(ctx, c, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // a stale reference: try the next one
		}
		if err != nil {
			return nil, err
		}
		if s.Type == corev1.SecretTypeDockercfg {
			return s, nil
		}
	}
	list, err := listSecrets(ctx, kube, namespace, fields.OneTermEqualSelector("type", string(corev1.SecretTypeDockercfg)).String())
	if err != nil {
		return nil, fmt.Errorf("list dockercfg secrets: %w", err)
	}
	var found []*corev1.Secret
	for i := range list {
		s := &list[i]
		if s.Type != corev1.SecretTypeDockercfg || !strings.HasPrefix(s.Name, prefix) {
			continue
		}
		if owner := s.Annotations[corev1.ServiceAccountNameKey]; owner != "" && owner != sa {
			continue
		}
		found = append(found, s)
	}
	if len(found) == 0 {
		return nil, &NotFoundError{Kind: "secret", Namespace: namespace, Name: prefix + "*"}
	}
	// Newest first: after a token rotation the newest one is current.
	sort.Slice(found, func(i, j int) bool {
		return found[j].CreationTimestamp.Before(&found[i].CreationTimestamp)
	})
	return found[0], nil
}

// internalEntry picks the entry for the internal registry service: a known
// service host name first, else an IP address key (the service's cluster
// IP), else the only entry.
func internalEntry(c *dockerconfig.Config) (string, dockerconfig.Entry, error) {
	servers := c.Servers()
	hostOf := func(k string) string {
		n, err := dockerconfig.NormalizeServer(k)
		if err != nil {
			n = k
		}
		if h, _, err := net.SplitHostPort(n); err == nil {
			return h
		}
		return n
	}
	for _, want := range internalRegistryHosts {
		for _, k := range servers {
			if hostOf(k) == want {
				return k, c.Auths[k], nil
			}
		}
	}
	for _, k := range servers {
		if net.ParseIP(hostOf(k)) != nil {
			return k, c.Auths[k], nil
		}
	}
	if len(servers) == 1 {
		return servers[0], c.Auths[servers[0]], nil
	}
	return "", dockerconfig.Entry{}, fmt.Errorf("%w among %d entries", ErrNoInternalRegistryEntry, len(servers))
}

// credentials returns the entry's username and password, decoding auth
// (padded or unpadded base64 of "user:pass") when they are not set.
func credentials(e dockerconfig.Entry) (string, string, error) {
	if e.Username != "" || e.Password != "" {
		return e.Username, e.Password, nil
	}
	if e.Auth == "" {
		return "", "", fmt.Errorf("%w: no username, password or auth", dockerconfig.ErrInvalidAuth)
	}
	raw, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(e.Auth, "="))
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: auth is not base64", dockerconfig.ErrInvalidAuth)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", fmt.Errorf("%w: auth is not user:password", dockerconfig.ErrInvalidAuth)
	}
	return user, pass, nil
}
