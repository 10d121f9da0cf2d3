package pullsecret

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/imageref"
	"github.com/registrykit/registrykit/internal/redact"
)

// Subject is whose image pulls Explain explains: set Pod or ServiceAccount,
// not both. The zero Subject means service account "default".
type Subject struct {
	// Pod is an existing pod: the kubelet uses its spec.imagePullSecrets,
	// which admission copied from its service account when the pod was
	// created, if the pod listed none itself.
	Pod string
	// ServiceAccount is what a new pod running as this account would get:
	// the account's current imagePullSecrets. Empty means "default".
	ServiceAccount string
}

// SecretState says what the kubelet makes of one image pull secret.
type SecretState string

// The states of a considered secret, from the kubelet's point of view.
const (
	// SecretMissing: no secret of that name in the pod's namespace. The
	// kubelet skips it (event FailedToRetrieveImagePullSecret).
	SecretMissing SecretState = "missing"
	// SecretWrongType: neither kubernetes.io/dockerconfigjson nor
	// kubernetes.io/dockercfg (e.g. Opaque). The kubelet ignores it silently.
	SecretWrongType SecretState = "wrong-type"
	// SecretWrongKey: the right type, but its data lacks the key that type
	// requires (.dockerconfigjson or .dockercfg), or it is empty. Ignored
	// silently too.
	SecretWrongKey SecretState = "wrong-key"
	// SecretUnparsable: the kubelet cannot decode the data (not JSON, an
	// entry or "auths" that is not an object, a field that is not a string,
	// an auth that is not base64 of user:password). The kubelet then fails
	// every image pull of the pod, whatever the other secrets hold. Much
	// that a strict parser refuses the kubelet reads: see Explain.
	SecretUnparsable SecretState = "unparsable"
	// SecretNoMatch: it parses but no entry matches the image's registry.
	SecretNoMatch SecretState = "no-match"
	// SecretMatching: at least one entry matches the image.
	SecretMatching SecretState = "matching"
)

// Credential is one registry entry the kubelet would try: the secret it is
// in, the registry key as written there (userinfo in a key is shown as
// REDACTED@), and the username the kubelet sends: the one "auth" decodes
// to when it is set. It never carries a password, auth or token.
type Credential struct {
	Secret   string
	Server   string
	Username string
}

func (c Credential) String() string {
	user := c.Username
	if user == "" {
		user = "(none)"
	}
	return fmt.Sprintf("secret %s, key %s, user %s", c.Secret, c.Server, user)
}

// ConsideredSecret is one image pull secret and what the kubelet makes of it.
type ConsideredSecret struct {
	Name  string
	State SecretState
	// Type is the secret's type; empty when it is missing.
	Type string
	// Detail says what is wrong (or what matched) in a few words; it never
	// contains secret data.
	Detail string
	// Servers are the registry keys the kubelet finds in the secret, as
	// written (userinfo redacted), sorted.
	Servers []string
	// Credentials are the secret's entries among those the kubelet tries,
	// in its order, for State SecretMatching.
	Credentials []Credential
}

// Explanation is what Explain found. It holds names, registry keys and
// usernames only; String prints it readably.
type Explanation struct {
	Namespace string
	// Image is the image as given; Registry is its registry host
	// ("docker.io" for an image without one).
	Image    string
	Registry string
	// Pod is the explained pod, empty when a service account was explained.
	Pod string
	// ServiceAccount is the subject's service account: the pod's, or the
	// one asked about.
	ServiceAccount string
	// Secrets are the pull secrets the kubelet considers, in list order:
	// the pod's spec.imagePullSecrets, or the service account's
	// imagePullSecrets for a new pod.
	Secrets []ConsideredSecret
	// NotInPod are the secrets the pod's service account lists now that the
	// pod does not (it was created before they were attached, or listed its
	// own). The kubelet does not use them for this pod.
	NotInPod []ConsideredSecret
	// Credentials are the entries the kubelet tries for Image, in its order:
	// across every secret, registry keys in reverse order (longer paths
	// first), then by position of the secret in the list. A secret listed
	// twice contributes its entries twice, as the kubelet tries them twice.
	// Empty when a secret is unparsable: the kubelet then tries none.
	Credentials []Credential
	// OK is true when some credential with a username or password matches
	// the image and no secret stops the kubelet from using it (an
	// unparsable one fails every pull).
	OK bool
	// Verdict is one line: the outcome and, when not OK, the fix.
	Verdict string
}

// String prints the explanation on a few lines: the subject, each secret
// with its state, the credentials in the kubelet's order, the verdict.
// It never contains secret data.
func (e Explanation) String() string {
	var b strings.Builder
	subject := "a new pod of service account " + e.ServiceAccount
	if e.Pod != "" {
		subject = fmt.Sprintf("pod %s (service account %s)", e.Pod, e.ServiceAccount)
	}
	fmt.Fprintf(&b, "image %s (registry %s) for %s in namespace %s\n", e.Image, e.Registry, subject, e.Namespace)
	writeSecrets := func(list []ConsideredSecret) {
		for i, s := range list {
			fmt.Fprintf(&b, "  %d. %-24s %-10s %s\n", i+1, s.Name, s.State, s.Detail)
		}
	}
	if len(e.Secrets) == 0 {
		b.WriteString("image pull secrets: none\n")
	} else {
		b.WriteString("image pull secrets, in order:\n")
		writeSecrets(e.Secrets)
	}
	if len(e.NotInPod) > 0 {
		fmt.Fprintf(&b, "listed by service account %s but not by the pod (not used):\n", e.ServiceAccount)
		writeSecrets(e.NotInPod)
	}
	if len(e.Credentials) > 0 {
		b.WriteString("credentials the kubelet tries, in order:\n")
		for i, c := range e.Credentials {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, c)
		}
	}
	b.WriteString("verdict: " + e.Verdict)
	return b.String()
}

// Explain says what the kubelet would do about pull credentials for image
// when it runs subject's pod in namespace: which image pull secrets it
// considers (a pod's spec.imagePullSecrets; for a service account, the
// account's imagePullSecrets, which admission copies into a new pod that
// lists none), what state each is in, which credentials it would try and in
// which order, and a one-line verdict with the fix.
//
// It follows the kubelet's code (k8s.io/kubernetes v1.37:
// getPullSecretsForPod, pkg/credentialprovider and its secrets package),
// not dockerconfig's stricter parser:
//   - references with empty names are skipped, missing secrets are
//     skipped, and a name listed twice is read, and its entries tried,
//     twice;
//   - a secret is used only with type kubernetes.io/dockerconfigjson and a
//     non-empty .dockerconfigjson, or type kubernetes.io/dockercfg and a
//     non-empty .dockercfg; .dockerconfigjson is read as an object with
//     "auths", .dockercfg as a bare map of registries, whatever document
//     either holds;
//   - field names match case-insensitively ("Auths", "Username"), unknown
//     fields are ignored, a null entry or document is empty, a repeated
//     "auths" adds to the earlier one, a non-empty auth replaces username
//     and password, and identitytoken and registrytoken are not read;
//   - a registry key that does not parse as a URL is ignored, the others
//     are kept; userinfo in a key is dropped, case is kept;
//   - a secret the kubelet cannot decode fails every pull of the pod;
//   - the entries of every usable secret form one keyring searched in
//     reverse key order (a key's path is a string prefix of the image's,
//     host labels are globs, ports must be equal), with the index.docker.io
//     entries used only when nothing matches and the image's first
//     component has no '.' or ':' (Docker Hub, but also "localhost/app").
//
// For a pod, it also reads the pod's service account and reports secrets
// the account lists that the pod lacks: pods get the account's list at
// creation only, so a pod created before the account was patched keeps
// pulling without them.
//
// image must be a valid reference; without a registry host it is a Docker
// Hub image. Names are validated before any call (*registrykit.InvalidError,
// matching registrykit.ErrInvalid). A missing pod or service account (subject) is a
// *NotFoundError: admission refuses new pods of a missing account.
//
// It reads the pod (or service account), the service account, and each
// referenced secret with one GET each, and writes nothing. Limits: it does
// not contact the registry, so it cannot tell a revoked key or a missing
// IAM policy from a good one; it does not see credentials the node itself
// has (its config.json, credential provider plugins), which the kubelet
// tries after the secrets'.
func Explain(ctx context.Context, kube kubernetes.Interface, namespace string, subject Subject, image string) (Explanation, error) {
	errs := registrykit.ValidateNamespace(field.NewPath("namespace"), namespace)
	subj := field.NewPath("subject")
	switch {
	case subject.Pod != "" && subject.ServiceAccount != "":
		errs = append(errs, field.Forbidden(subj.Child("serviceAccount"), "set pod or serviceAccount, not both"))
	case subject.Pod != "":
		errs = append(errs, registrykit.ValidateName(subj.Child("pod"), subject.Pod)...)
	case subject.ServiceAccount != "":
		errs = append(errs, registrykit.ValidateName(subj.Child("serviceAccount"), subject.ServiceAccount)...)
	}
	registry, problem := parseImage(image)
	if problem != "" {
		errs = append(errs, field.Invalid(field.NewPath("image"), redact.Userinfo(image), problem))
	}
	what := "a new pod of service account " + subject.ServiceAccount
	if subject.Pod != "" {
		what = "pod " + subject.Pod
	} else if subject.ServiceAccount == "" {
		what = "a new pod of service account default"
	}
	wrap := func(err error) error {
		return fmt.Errorf("explain pull of %s for %s in %s: %w", redact.Userinfo(image), what, namespace, err)
	}
	if err := invalid("pullsecret.Explain", errs); err != nil {
		return Explanation{}, wrap(err)
	}

	e := Explanation{Namespace: namespace, Image: image, Registry: registry, Pod: subject.Pod, ServiceAccount: subject.ServiceAccount}
	var refs, saRefs []corev1.LocalObjectReference
	saFound := false
	if subject.Pod != "" {
		pod, err := kube.CoreV1().Pods(namespace).Get(ctx, subject.Pod, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return Explanation{}, wrap(&NotFoundError{Kind: "pod", Namespace: namespace, Name: subject.Pod, Err: err})
		}
		if err != nil {
			return Explanation{}, wrap(fmt.Errorf("get pod: %w", err))
		}
		refs = pod.Spec.ImagePullSecrets
		e.ServiceAccount = pod.Spec.ServiceAccountName
		if e.ServiceAccount == "" {
			e.ServiceAccount = "default"
		}
	} else if e.ServiceAccount == "" {
		e.ServiceAccount = "default"
	}
	sa, err := kube.CoreV1().ServiceAccounts(namespace).Get(ctx, e.ServiceAccount, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && subject.Pod == "":
		return Explanation{}, wrap(&NotFoundError{Kind: "serviceaccount", Namespace: namespace, Name: e.ServiceAccount, Err: err})
	case apierrors.IsNotFound(err):
		// The pod outlived its account: nothing to compare with.
	case err != nil:
		return Explanation{}, wrap(fmt.Errorf("get service account %s: %w", e.ServiceAccount, err))
	default:
		saFound, saRefs = true, sa.ImagePullSecrets
	}
	if subject.Pod == "" {
		refs = saRefs
	}

	secrets := map[string]*corev1.Secret{} // nil value: missing
	get := func(name string) (*corev1.Secret, error) {
		if s, ok := secrets[name]; ok {
			return s, nil
		}
		s, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s, err = nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("get secret %s: %w", name, err)
		}
		secrets[name] = s
		return s, nil
	}
	repo := kubeletRepo(image)
	var ring kubeletKeyring
	var reads []secretRead // parallel to e.Secrets
	first := map[string]int{}
	for _, r := range refs {
		if r.Name == "" {
			continue // getPullSecretsForPod skips empty names
		}
		s, err := get(r.Name)
		if err != nil {
			return Explanation{}, wrap(err)
		}
		rd := readSecret(r.Name, namespace, s)
		if rd.used {
			rd.ignored = ring.add(len(reads), rd.entries)
		}
		if i, ok := first[r.Name]; ok {
			rd.again = i + 1
		} else {
			first[r.Name] = len(reads)
		}
		reads = append(reads, rd)
	}
	creds, _ := ring.lookup(repo)
	hints := map[string]string{}
	for i := range reads {
		var own []kubeletCred
		for _, c := range creds {
			if c.secret == i {
				own = append(own, c)
			}
		}
		e.Secrets = append(e.Secrets, reads[i].finish(own, registry, repo, hints))
	}
	unparsable := slices.ContainsFunc(e.Secrets, func(s ConsideredSecret) bool { return s.State == SecretUnparsable })
	anyCred := false
	if !unparsable { // the kubelet fails before it looks anything up
		for _, c := range creds {
			e.Credentials = append(e.Credentials, c.credential(reads[c.secret].cs.Name))
			anyCred = anyCred || c.entry.hasCred
		}
	}
	if subject.Pod != "" && saFound {
		inPod := map[string]bool{}
		for _, r := range refs {
			inPod[r.Name] = true
		}
		for _, r := range saRefs {
			if r.Name == "" || inPod[r.Name] {
				continue
			}
			inPod[r.Name] = true // report each once
			s, err := get(r.Name)
			if err != nil {
				return Explanation{}, wrap(err)
			}
			// What the kubelet would make of it alone.
			rd := readSecret(r.Name, namespace, s)
			var alone kubeletKeyring
			if rd.used {
				rd.ignored = alone.add(0, rd.entries)
			}
			own, _ := alone.lookup(repo)
			e.NotInPod = append(e.NotInPod, rd.finish(own, registry, repo, hints))
		}
	}
	e.OK, e.Verdict = verdict(&e, refs, saRefs, saFound, anyCred, hints)
	return e, nil
}

// secretRead is one referenced secret as the kubelet reads it.
type secretRead struct {
	cs      ConsideredSecret // state set unless used
	used    bool             // the kubelet adds its entries to the keyring
	entries map[string]kubeletEntry
	ignored []string // keys the kubelet cannot parse and skips
	hint    string   // why a used secret holds no usable registry, with the fix
	again   int      // listed before, at this 1-based position
}

func (c kubeletCred) credential(secret string) Credential {
	return Credential{Secret: secret, Server: displayServer(c.server), Username: c.entry.username}
}

// displayServer is a registry key as shown: userinfo redacted.
func displayServer(s string) string { return redact.Userinfo(s) }

// readSecret classifies one secret as secretsToTrackedDockerConfigs
// (pkg/credentialprovider/secrets) does: missing (getPullSecretsForPod
// skips it), ignored for its type or key, unparsable, or used.
func readSecret(name, namespace string, s *corev1.Secret) secretRead {
	rd := secretRead{cs: ConsideredSecret{Name: name}}
	cs := &rd.cs
	if s == nil {
		cs.State, cs.Detail = SecretMissing, "not found in namespace "+namespace
		return rd
	}
	cs.Type = string(s.Type)
	var key string
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		key = corev1.DockerConfigJsonKey
	case corev1.SecretTypeDockercfg:
		key = corev1.DockerConfigKey
	default:
		cs.State = SecretWrongType
		cs.Detail = fmt.Sprintf("type %s: the kubelet ignores it", displayType(s.Type))
		if len(s.Data[corev1.DockerConfigJsonKey]) > 0 {
			cs.Detail += " (it holds " + corev1.DockerConfigJsonKey + " data)"
		} else if len(s.Data[corev1.DockerConfigKey]) > 0 {
			cs.Detail += " (it holds " + corev1.DockerConfigKey + " data)"
		}
		return rd
	}
	if _, ok := kubeletUses(s); !ok {
		cs.State = SecretWrongKey
		cs.Detail = fmt.Sprintf("type %s without data key %s: the kubelet ignores it", s.Type, key)
		if keys := dataKeys(s); len(keys) > 0 {
			cs.Detail += " (keys: " + strings.Join(keys, ", ") + ")"
		}
		return rd
	}
	entries, problem := kubeletParse(s)
	if problem != "" {
		cs.State, cs.Detail = SecretUnparsable, problem
		return rd
	}
	rd.used, rd.entries = true, entries
	for _, k := range sortedKeys(entries) {
		cs.Servers = append(cs.Servers, displayServer(k))
	}
	switch {
	case s.Type == corev1.SecretTypeDockercfg && hasKeyFold(entries, "auths"):
		rd.hint = `it is kubernetes.io/dockercfg but holds a .dockerconfigjson document, whose "auths" the kubelet reads as a registry name; recreate it as kubernetes.io/dockerconfigjson`
	case s.Type == corev1.SecretTypeDockerConfigJson && len(entries) == 0 && looksLegacy(s.Data[key]):
		rd.hint = `its .dockerconfigjson has no "auths" object and looks like .dockercfg data; put the registries under "auths", or recreate it as kubernetes.io/dockercfg`
	}
	return rd
}

// finish sets the state of a read secret from own, its credentials among
// those the kubelet tries, and records its hint for the verdict.
func (rd secretRead) finish(own []kubeletCred, registry, repo string, hints map[string]string) ConsideredSecret {
	cs := rd.cs
	if rd.used {
		switch {
		case len(own) > 0:
			cs.State = SecretMatching
			keys := make([]string, len(own))
			empty := true
			for i, c := range own {
				keys[i] = displayServer(c.server)
				cs.Credentials = append(cs.Credentials, c.credential(cs.Name))
				empty = empty && !c.entry.hasCred
			}
			cs.Detail = "matches: " + strings.Join(keys, ", ")
			if empty {
				cs.Detail += " (no username or password in it)"
			}
		default:
			cs.State = SecretNoMatch
			var alone kubeletKeyring
			alone.add(0, rd.entries)
			if c, fallback := alone.lookup(repo); fallback && len(c) > 0 {
				cs.Detail = "only its index.docker.io entry matches, which the kubelet uses only when no other entry does"
			} else {
				cs.Detail = noEntryDetail(registry, cs.Servers)
			}
			if rd.hint != "" {
				cs.Detail += "; " + rd.hint
				hints[cs.Name] = rd.hint
			}
		}
		if len(rd.ignored) > 0 {
			shown := make([]string, len(rd.ignored))
			for i, k := range rd.ignored {
				shown[i] = fmt.Sprintf("%q", displayServer(k))
			}
			cs.Detail += "; the kubelet ignores key(s) it cannot parse: " + shortList(shown, 4)
		}
	}
	if rd.again > 0 {
		cs.Detail += fmt.Sprintf(" (listed again, as %d.: the kubelet reads it again and tries its entries twice)", rd.again)
	}
	return cs
}

// noEntryDetail says that no key matches registry, naming a few keys and
// the glob rule when a glob looks close.
func noEntryDetail(registry string, servers []string) string {
	if len(servers) == 0 {
		return "holds no registry"
	}
	d := "no entry for " + registry + " (has " + shortList(servers, 4) + ")"
	for _, s := range servers {
		if n, ok := kubeletIndexKey(s); ok && strings.HasPrefix(n, "*.") && strings.TrimPrefix(n, "*.") == registry {
			d += "; " + n + " needs one more host label: it does not match " + registry
			break
		}
	}
	return d
}

func shortList(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}

func displayType(t corev1.SecretType) string {
	if t == "" {
		return "Opaque" // the API server's default
	}
	return string(t)
}

func dataKeys(s *corev1.Secret) []string {
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// verdict picks the one line: OK, or the most likely reason and its fix.
// anyCred says whether some credential the kubelet tries carries a
// username or password; hints are the fixes for secrets whose document is
// of the other format, by name.
func verdict(e *Explanation, refs, saRefs []corev1.LocalObjectReference, saFound, anyCred bool, hints map[string]string) (bool, string) {
	who := "pod " + e.Pod
	if e.Pod == "" {
		who = "new pods of service account " + e.ServiceAccount
	}
	for _, s := range e.Secrets {
		if s.State == SecretUnparsable {
			return false, fmt.Sprintf("secret %s cannot be parsed (%s): the kubelet fails every image pull of %s; recreate it (e.g. with pullsecret.Apply) or remove it from the list", s.Name, strings.TrimPrefix(s.Detail, "cannot parse: "), who)
		}
	}
	if len(e.Credentials) > 0 && anyCred {
		c := e.Credentials[0]
		return true, fmt.Sprintf("ok: the kubelet tries %d credential(s) for %s, first %s; if the pull still fails, the registry rejects that credential (revoked key or missing access)", len(e.Credentials), e.Registry, c)
	}
	if len(e.Credentials) > 0 {
		c := e.Credentials[0]
		return false, fmt.Sprintf("the entries the kubelet finds for %s (first %s) hold no username or password (null, empty, or only identitytoken or registrytoken, which the kubelet does not read): it pulls %s anonymously; put the credential in auth, or in username and password", e.Registry, c, e.Image)
	}
	// Not OK. Did the pod miss a secret its account has now?
	recreate := e.Pod != "" && saFound && len(e.NotInPod) > 0 && subset(refs, saRefs)
	if e.Pod != "" && saFound {
		if s, ok := firstState(e.NotInPod, SecretMatching); ok {
			if recreate {
				return false, fmt.Sprintf("pod %s was created before service account %s got %s (pods copy the account's imagePullSecrets at creation): delete and recreate the pod", e.Pod, e.ServiceAccount, s.Name)
			}
			return false, fmt.Sprintf("pod %s lists its own imagePullSecrets, so admission did not add service account %s's %s: add %s to the pod's (or its controller's template's) imagePullSecrets", e.Pod, e.ServiceAccount, s.Name, s.Name)
		}
	}
	if problem, ok := secretProblem(e, e.Secrets, false, hints); ok {
		return false, problem
	}
	if recreate {
		// The pod lacks secrets of its account that are broken too: fix
		// them, then recreate the pod so that it gets them.
		s := e.NotInPod[0]
		if problem, ok := secretProblem(e, e.NotInPod, true, hints); ok {
			return false, fmt.Sprintf("pod %s was created before service account %s got %s, and %s, then delete and recreate the pod", e.Pod, e.ServiceAccount, s.Name, problem)
		}
	}
	if problem, ok := secretProblem(e, e.Secrets, true, hints); ok {
		return false, problem
	}
	if len(e.Secrets) == 0 {
		fix := "attach a pull secret to service account " + e.ServiceAccount + " (pullsecret.AttachToServiceAccount)"
		owner := "service account " + e.ServiceAccount
		if e.Pod != "" {
			owner = "pod " + e.Pod
			fix += ", then delete and recreate the pod"
		}
		return false, fmt.Sprintf("%s has no image pull secrets: the kubelet pulls %s with node credentials only; %s", owner, e.Image, fix)
	}
	return false, fmt.Sprintf("no image pull secret of %s has credentials for %s", who, e.Registry)
}

// secretProblem describes the most telling problem of a list, with its fix:
// a missing secret, then a wrong type, then a wrong key and, if noMatch is
// set, a secret without an entry for the registry (with its hint, if it
// holds the other format's document).
func secretProblem(e *Explanation, list []ConsideredSecret, noMatch bool, hints map[string]string) (string, bool) {
	icr := e.Registry == "icr.io" || strings.HasSuffix(e.Registry, ".icr.io")
	if s, ok := firstState(list, SecretMissing); ok {
		fix := "create it, or copy it from another namespace with pullsecret.Copy"
		if icr {
			fix = "copy it with registry.CopyICRSecret"
		}
		return fmt.Sprintf("secret %s is not in namespace %s: %s", s.Name, e.Namespace, fix), true
	}
	if s, ok := firstState(list, SecretWrongType); ok {
		return fmt.Sprintf("secret %s is %s: the kubelet ignores it; recreate it as %s", s.Name, displayType(corev1.SecretType(s.Type)), corev1.SecretTypeDockerConfigJson), true
	}
	if s, ok := firstState(list, SecretWrongKey); ok {
		key := corev1.DockerConfigJsonKey
		if s.Type == string(corev1.SecretTypeDockercfg) {
			key = corev1.DockerConfigKey
		}
		return fmt.Sprintf("secret %s has no %s data key: the kubelet ignores it; recreate it with the document under %s", s.Name, key, key), true
	}
	if !noMatch {
		return "", false
	}
	if s, ok := closestNoMatch(list, e.Registry, hints); ok {
		fix := "add an entry for " + e.Registry
		if icr {
			fix += " (icr.APIKeyConfig with that region's domain, or all-icr-io, which has every region)"
		}
		if h, ok := hints[s.Name]; ok {
			fix = h
		}
		return fmt.Sprintf("secret %s has no entry for %s: %s", s.Name, e.Registry, fix), true
	}
	return "", false
}

func firstState(list []ConsideredSecret, st SecretState) (ConsideredSecret, bool) {
	for _, s := range list {
		if s.State == st {
			return s, true
		}
	}
	return ConsideredSecret{}, false
}

// closestNoMatch prefers a secret with a key in the image registry's domain
// (de.icr.io or *.icr.io for us.icr.io), since that is the one meant for
// it; then one that holds the other format's document (hints); otherwise
// the first secret without a match.
func closestNoMatch(list []ConsideredSecret, registry string, hints map[string]string) (ConsideredSecret, bool) {
	base := domainOf(registry)
	for _, s := range list {
		if s.State != SecretNoMatch {
			continue
		}
		for _, srv := range s.Servers {
			if n, ok := kubeletIndexKey(srv); ok && domainOf(n) == base {
				return s, true
			}
		}
	}
	for _, s := range list {
		if _, ok := hints[s.Name]; ok && s.State == SecretNoMatch {
			return s, true
		}
	}
	return firstState(list, SecretNoMatch)
}

// domainOf returns the last two labels of a key's or image's host, without
// port or path: "icr.io" for "us.icr.io:443/team".
func domainOf(key string) string {
	host, _, _ := strings.Cut(key, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	labels := strings.Split(host, ".")
	if len(labels) > 2 {
		labels = labels[len(labels)-2:]
	}
	return strings.Join(labels, ".")
}

// subset reports whether every name of a is in b.
func subset(a, b []corev1.LocalObjectReference) bool {
	for _, r := range a {
		if !slices.ContainsFunc(b, func(o corev1.LocalObjectReference) bool { return o.Name == r.Name }) {
			return false
		}
	}
	return true
}

// parseImage validates an image reference and returns its registry host
// ("docker.io" when it names none), or a problem.
func parseImage(image string) (registry, problem string) {
	if image == "" {
		return "", "must not be empty"
	}
	ref, problem := imageref.Parse(image)
	if problem != "" {
		return "", problem
	}
	switch ref.Registry {
	case "", "index.docker.io":
		return "docker.io", ""
	}
	return ref.Registry, ""
}
