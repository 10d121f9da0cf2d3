package pullsecret

import (
	"context"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

// FindingKind classifies an Audit finding.
type FindingKind string

// The kinds of problem Audit reports.
const (
	// FindingMissing: a service account or pod references a pull secret
	// that does not exist (`oc describe sa` shows "(not found)").
	FindingMissing FindingKind = "missing"
	// FindingWrongType: the referenced secret is not of type
	// kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg; the kubelet
	// ignores it.
	FindingWrongType FindingKind = "wrong-type"
	// FindingUnparsable: the referenced secret's data is not a valid docker
	// config.
	FindingUnparsable FindingKind = "unparsable"
	// FindingNoRegistry: the referenced secret parses but holds no registry.
	FindingNoRegistry FindingKind = "no-registry"
	// FindingUnused: a pull secret that no service account and no pod of
	// the namespace references.
	FindingUnused FindingKind = "unused"
)

// Finding is one Audit result. It carries names only, never secret data.
type Finding struct {
	Kind           FindingKind
	ServiceAccount string // the referring service account, if any
	Pod            string // the referring pod, if any
	Secret         string
	Message        string
}

// String describes the finding in one line; it never contains secret data.
func (f Finding) String() string {
	switch {
	case f.ServiceAccount != "":
		return fmt.Sprintf("%s: serviceaccount %s -> secret %s: %s", f.Kind, f.ServiceAccount, f.Secret, f.Message)
	case f.Pod != "":
		return fmt.Sprintf("%s: pod %s -> secret %s: %s", f.Kind, f.Pod, f.Secret, f.Message)
	default:
		return fmt.Sprintf("%s: secret %s: %s", f.Kind, f.Secret, f.Message)
	}
}

// Audit inspects the image pull secrets of one namespace. It reports every
// imagePullSecrets reference of a service account or pod to a secret that
// is missing, of the wrong type, unparsable or empty, and every pull secret
// (kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg) that no
// service account (imagePullSecrets or secrets) and no pod references.
//
// A pod reference that the pod's service account also has (admission copies
// them into pods) is reported once, for the account.
//
// It reads with three paged Lists (service accounts, secrets, pods) and
// writes nothing. Findings are sorted by kind, secret, then referrer.
// Limits: it does not contact any registry, so a well-formed but expired or
// revoked credential is not found; pods created by a controller that have
// not been scheduled yet are not seen.
func Audit(ctx context.Context, kube kubernetes.Interface, namespace string) ([]Finding, error) {
	wrap := func(err error) error { return fmt.Errorf("audit pull secrets in %s: %w", namespace, err) }
	if err := invalid("pullsecret.Audit", registrykit.ValidateNamespace(field.NewPath("namespace"), namespace)); err != nil {
		return nil, wrap(err)
	}
	sas, err := listServiceAccounts(ctx, kube, namespace, "")
	if err != nil {
		return nil, wrap(fmt.Errorf("list service accounts: %w", err))
	}
	secrets, err := listSecrets(ctx, kube, namespace, "")
	if err != nil {
		return nil, wrap(fmt.Errorf("list secrets: %w", err))
	}
	pods, err := listPods(ctx, kube, namespace)
	if err != nil {
		return nil, wrap(fmt.Errorf("list pods: %w", err))
	}

	byName := map[string]*corev1.Secret{}
	for i := range secrets {
		byName[secrets[i].Name] = &secrets[i]
	}
	used := map[string]bool{}
	var out []Finding
	check := func(sa, pod, name string) {
		used[name] = true
		f := Finding{ServiceAccount: sa, Pod: pod, Secret: name}
		s, ok := byName[name]
		switch {
		case !ok:
			f.Kind, f.Message = FindingMissing, "referenced in imagePullSecrets but not found"
		case s.Type != corev1.SecretTypeDockerConfigJson && s.Type != corev1.SecretTypeDockercfg:
			f.Kind, f.Message = FindingWrongType, fmt.Sprintf("type %q is ignored by the kubelet for image pulls", s.Type)
		default:
			cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
			switch {
			case errors.Is(err, dockerconfig.ErrNoAuths) || (err == nil && len(cfg.Auths) == 0):
				f.Kind, f.Message = FindingNoRegistry, "holds no registry credentials"
			case err != nil:
				f.Kind, f.Message = FindingUnparsable, describeParseError(err)
			default:
				return
			}
		}
		out = append(out, f)
	}
	saRefs := map[string]bool{} // "<sa>/<secret>": already checked through the account
	for i := range sas {
		sa := &sas[i]
		for _, r := range sa.ImagePullSecrets {
			check(sa.Name, "", r.Name)
			saRefs[sa.Name+"/"+r.Name] = true
		}
		for _, r := range sa.Secrets {
			used[r.Name] = true
		}
	}
	for i := range pods {
		sa := pods[i].Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		for _, r := range pods[i].Spec.ImagePullSecrets {
			if saRefs[sa+"/"+r.Name] {
				used[r.Name] = true // injected from the account: reported there
				continue
			}
			check("", pods[i].Name, r.Name)
		}
	}
	for i := range secrets {
		s := &secrets[i]
		if (s.Type == corev1.SecretTypeDockerConfigJson || s.Type == corev1.SecretTypeDockercfg) && !used[s.Name] {
			out = append(out, Finding{Kind: FindingUnused, Secret: s.Name, Message: "no service account or pod references it"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Secret != b.Secret {
			return a.Secret < b.Secret
		}
		if a.ServiceAccount != b.ServiceAccount {
			return a.ServiceAccount < b.ServiceAccount
		}
		return a.Pod < b.Pod
	})
	return out, nil
}

// describeParseError names what is wrong without echoing data: it relies on
// the dockerconfig contract that its errors never contain secrets.
func describeParseError(err error) string {
	if errors.Is(err, dockerconfig.ErrNotJSON) {
		return "cannot parse: not JSON"
	}
	return "cannot parse: " + err.Error()
}
