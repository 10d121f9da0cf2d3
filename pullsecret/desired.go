package pullsecret

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/redact"
)

// This file holds the pure decisions that Copy, Link and
// AttachToServiceAccount(s) are built from: what a copy should be, whether
// and how the one in place must be written, and a service account with a
// reference added. They do no I/O and never change their arguments, so a
// controller or a user's own reconciler can make exactly the decisions the
// one-shot calls make: read, check the source (CheckSource), build
// (DesiredCopy), compare (DecideCopy), write.

// Adoption says what happens to a same-named secret in a target namespace
// that this module did not make: one without AnnotationCopiedFrom, or with
// one that names another source. The zero value leaves it alone.
type Adoption string

// The adoption policies.
const (
	// LeaveForeign leaves such a secret in place. The namespace is
	// Skipped with registrykit.SkipForeign, a warning: it is not served by
	// the copy, and rerunning does not change that.
	LeaveForeign Adoption = ""
	// AdoptForeign takes over a secret without AnnotationCopiedFrom that is
	// an image pull secret (kubernetes.io/dockerconfigjson or
	// kubernetes.io/dockercfg) for exactly the source's registries — what
	// the guide's `oc get secret ... -o yaml | sed | oc create -f -` made.
	// Its content, labels and annotations become the copy's (it is
	// replaced when its type differs). Every other foreign secret is left
	// alone as with LeaveForeign.
	AdoptForeign Adoption = "adopt"
	// OverwriteForeign takes over any same-named secret, whatever it holds
	// (replacing it when its type differs): the blunt tool.
	OverwriteForeign Adoption = "overwrite"
)

// Validate reports a policy that is none of the three as a field error at
// path (nil for a valid one). It does no I/O.
func (a Adoption) Validate(path *field.Path) field.ErrorList {
	switch a {
	case LeaveForeign, AdoptForeign, OverwriteForeign:
		return nil
	}
	return field.ErrorList{field.NotSupported(path, redact.Userinfo(string(a)),
		[]string{string(LeaveForeign), string(AdoptForeign), string(OverwriteForeign)})}
}

// CheckSource returns an error unless s can be the source of a copy: an
// image pull secret (type kubernetes.io/dockerconfigjson or
// kubernetes.io/dockercfg, else a *NotPullSecretError matching
// ErrNotPullSecret) whose content parses (else dockerconfig's error) and
// holds at least one registry (else dockerconfig.ErrNoAuths). Every error
// names the secret and none holds its content. Copy checks its source so
// before it writes anything.
func CheckSource(s *corev1.Secret) error {
	if s.Type != corev1.SecretTypeDockerConfigJson && s.Type != corev1.SecretTypeDockercfg {
		return &NotPullSecretError{Namespace: s.Namespace, Name: s.Name, Type: string(s.Type)}
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	if len(cfg.Auths) == 0 {
		return fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, dockerconfig.ErrNoAuths)
	}
	return nil
}

// lastApplied is kubectl's annotation; it holds the whole object, data
// included, with the source namespace, so a copy must not carry it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// ContentHash is the value of AnnotationContentHash for s: "sha256:<hex>"
// over its type and data (keys sorted, every field length-prefixed). Labels
// and annotations do not count. It fingerprints the content; the
// credentials cannot be recovered from it.
func ContentHash(s *corev1.Secret) string {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(s.Type))
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		field([]byte(k))
		field(s.Data[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// DesiredCopy returns the copy of the source secret src that Copy writes as
// to.Namespace/to.Name: src's type and data (byte for byte: the namespace
// changes in metadata only, never inside the data), its labels, and its
// annotations without kubectl's last-applied-configuration, plus
// AnnotationCopiedFrom ("<src namespace>/<src name>") and
// AnnotationContentHash (ContentHash(src)). Server-set metadata (uid,
// resourceVersion, creationTimestamp, managedFields, ownerReferences,
// finalizers) is not carried over.
//
// The result shares src's Data (treat it as read-only); its labels and
// annotations are its own. src is not changed.
func DesiredCopy(src *corev1.Secret, to types.NamespacedName) *corev1.Secret {
	ann := maps.Clone(src.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	delete(ann, lastApplied)
	ann[AnnotationCopiedFrom] = src.Namespace + "/" + src.Name
	ann[AnnotationContentHash] = ContentHash(src)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        to.Name,
			Namespace:   to.Namespace,
			Labels:      maps.Clone(src.Labels),
			Annotations: ann,
		},
		Type: src.Type,
		Data: src.Data,
	}
}

// CopyDecision is what DecideCopy decided for one target.
type CopyDecision struct {
	// Result is the outcome: Created, Updated, Unchanged or Skipped (with
	// Skip set: registrykit.SkipSourceNamespace or registrykit.SkipForeign,
	// the latter a warning), and why.
	Result registrykit.Result
	// Write is the object to write; nil when nothing is written. When the
	// current secret was nil, or Replace is set, it is to be created (it
	// carries no uid or resourceVersion). Otherwise it is the current
	// secret changed in place, with the resourceVersion it was read at, for
	// an Update that fails with a Conflict if someone wrote in between.
	Write *corev1.Secret
	// Replace says the current secret cannot be updated into the copy (its
	// type differs, and a secret's type is immutable, or it is immutable):
	// delete it, with preconditions on its uid and resourceVersion, then
	// create Write.
	Replace bool
	// Adopted says Write takes over a secret this module did not make
	// (AdoptForeign or OverwriteForeign).
	Adopted bool
}

// DecideCopy compares the secret cur that a target namespace holds (nil: it
// holds none) with want, the copy DesiredCopy built for it, under an
// adoption policy, and says what to write:
//
//   - want is the source itself (same namespace and name as its
//     AnnotationCopiedFrom): Skipped, registrykit.SkipSourceNamespace.
//   - cur is nil: Created; Write is want.
//   - cur was made from another source or not by this module: Skipped,
//     registrykit.SkipForeign (a warning), unless adoption takes it over
//     (see Adoption); then Updated with Adopted set.
//   - cur is current — same type; its AnnotationContentHash equals want's;
//     when cur carries data, that data hashes to the same value; the
//     source's labels exactly; want's annotations among its own; no
//     last-applied-configuration: Unchanged, nothing to write.
//   - otherwise Updated: the source's data, labels (a label removed at the
//     source is removed from the copy) and annotations on top of cur's
//     other annotations; with Replace set when cur's type differs or cur is
//     immutable.
//
// AnnotationContentHash is how a copy is known current without its data: a
// cur whose Data is nil (for example from a metadata-only cache) is judged
// by the annotation alone, so a hand edit of a copy's data is noticed only
// when cur carries the data. Adoption looks at cur's data and never adopts
// a cur without it.
//
// DecideCopy does no I/O and changes neither cur nor want.
func DecideCopy(cur, want *corev1.Secret, adoption Adoption) CopyDecision {
	origin := want.Annotations[AnnotationCopiedFrom]
	hash := want.Annotations[AnnotationContentHash]
	if want.Namespace+"/"+want.Name == origin {
		return CopyDecision{Result: registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipSourceNamespace, Reason: "source namespace"}}
	}
	if cur == nil {
		return CopyDecision{Result: registrykit.Result{Action: registrykit.Created, Reason: "copied from " + origin}, Write: want}
	}
	var why string
	adopted := false
	switch from := cur.Annotations[AnnotationCopiedFrom]; {
	case from == origin:
		if current(cur, want) {
			return CopyDecision{Result: registrykit.Result{Action: registrykit.Unchanged, Reason: "copy is current"}}
		}
		why = "content changed at source " + origin
		if cur.Type == want.Type && cur.Annotations[AnnotationContentHash] == hash && (cur.Data == nil || ContentHash(cur) == hash) {
			why = "labels or annotations differ from the source " + origin
		}
	case adoption == OverwriteForeign:
		why, adopted = "overwritten (a secret registrykit did not copy from "+origin+"; Adoption is OverwriteForeign)", true
	case adoption == AdoptForeign && from == "" && sameRegistries(cur, want):
		why, adopted = "adopted: an image pull secret for the same registries as "+origin, true
	default:
		return CopyDecision{Result: registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipForeign, Reason: foreignReason(cur, origin, adoption)}}
	}
	if cur.Type != want.Type || (cur.Immutable != nil && *cur.Immutable) {
		why += "; replaced (the type " + string(cur.Type) + " or immutability cannot be updated)"
		return CopyDecision{Result: registrykit.Result{Action: registrykit.Updated, Reason: why}, Write: want, Replace: true, Adopted: adopted}
	}
	upd := cur.DeepCopy()
	upd.Data = want.Data
	upd.Labels = maps.Clone(want.Labels)
	upd.Annotations = mergeMaps(upd.Annotations, want.Annotations)
	delete(upd.Annotations, lastApplied)
	return CopyDecision{Result: registrykit.Result{Action: registrykit.Updated, Reason: why}, Write: upd, Adopted: adopted}
}

// current reports whether cur, a copy from want's source, already is want.
func current(cur, want *corev1.Secret) bool {
	hash := want.Annotations[AnnotationContentHash]
	return cur.Type == want.Type &&
		cur.Annotations[AnnotationContentHash] == hash &&
		(cur.Data == nil || ContentHash(cur) == hash) &&
		maps.Equal(cur.Labels, want.Labels) &&
		hasAll(cur.Annotations, want.Annotations) &&
		cur.Annotations[lastApplied] == ""
}

// foreignReason explains why a foreign secret is left alone.
func foreignReason(cur *corev1.Secret, origin string, adoption Adoption) string {
	why := "exists without " + AnnotationCopiedFrom
	if from := cur.Annotations[AnnotationCopiedFrom]; from != "" {
		why = "exists, copied from " + from
	} else if adoption == AdoptForeign {
		why += ", and is not an image pull secret for the same registries as " + origin
	}
	hint := "; left alone (AdoptForeign adopts one for the same registries, OverwriteForeign any)"
	if adoption != LeaveForeign {
		hint = "; left alone (OverwriteForeign would replace it)"
	}
	return why + hint
}

// sameRegistries reports whether cur is an image pull secret whose
// registries are exactly want's (each key normalised, so
// "https://us.icr.io/v1/" and "us.icr.io" are the same registry).
func sameRegistries(cur, want *corev1.Secret) bool {
	if cur.Type != corev1.SecretTypeDockerConfigJson && cur.Type != corev1.SecretTypeDockercfg {
		return false
	}
	registries := func(s *corev1.Secret) ([]string, bool) {
		cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
		if err != nil || len(cfg.Auths) == 0 {
			return nil, false
		}
		var out []string
		for _, k := range cfg.Servers() {
			n, err := dockerconfig.NormalizeServer(k)
			if err != nil {
				return nil, false
			}
			out = append(out, n)
		}
		slices.Sort(out)
		return slices.Compact(out), true
	}
	a, ok := registries(cur)
	if !ok {
		return false
	}
	b, ok := registries(want)
	return ok && slices.Equal(a, b)
}

// hasAll reports whether m holds every key of sub with the same value.
func hasAll(m, sub map[string]string) bool {
	for k, v := range sub {
		if w, ok := m[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func mergeMaps(base, overlay map[string]string) map[string]string {
	if base == nil && len(overlay) == 0 {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, overlay)
	return out
}

// WithImagePullSecret returns sa with secret added to the end of its
// imagePullSecrets, and whether that changed it. When the reference is
// there already it returns sa itself and false; otherwise a deep copy (sa
// is never changed) that keeps the resourceVersion it was read at, for an
// Update (imagePullSecrets has no merge strategy: a patch would replace
// the whole list). Other entries keep their order.
func WithImagePullSecret(sa *corev1.ServiceAccount, secret string) (*corev1.ServiceAccount, bool) {
	out, added := WithLink(sa, secret, For{Pull: true})
	return out, len(added) > 0
}

// WithoutImagePullSecret returns sa without secret in its imagePullSecrets,
// and whether that changed it; like WithImagePullSecret, sa itself when
// nothing changes, else a deep copy.
func WithoutImagePullSecret(sa *corev1.ServiceAccount, secret string) (*corev1.ServiceAccount, bool) {
	has := func(r corev1.LocalObjectReference) bool { return r.Name == secret }
	if !slices.ContainsFunc(sa.ImagePullSecrets, has) {
		return sa, false
	}
	out := sa.DeepCopy()
	out.ImagePullSecrets = slices.DeleteFunc(out.ImagePullSecrets, has)
	return out, true
}

// WithLink returns sa with secret added, at most once, to the lists f names
// (`oc secrets link` semantics: Pull → imagePullSecrets, Mount → secrets; a
// zero For means Mount), and the names of the lists it was added to. When
// it is in every list already it returns sa itself and no names; otherwise
// a deep copy (sa is never changed) for an Update.
func WithLink(sa *corev1.ServiceAccount, secret string, f For) (*corev1.ServiceAccount, []string) {
	if !f.Pull && !f.Mount {
		f.Mount = true
	}
	needPull := f.Pull && !slices.ContainsFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret })
	needMount := f.Mount && !slices.ContainsFunc(sa.Secrets, func(r corev1.ObjectReference) bool { return r.Name == secret })
	if !needPull && !needMount {
		return sa, nil
	}
	out := sa.DeepCopy()
	var added []string
	if needPull {
		out.ImagePullSecrets = append(out.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
		added = append(added, "imagePullSecrets")
	}
	if needMount {
		out.Secrets = append(out.Secrets, corev1.ObjectReference{Name: secret})
		added = append(added, "secrets")
	}
	return out, added
}
