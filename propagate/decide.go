package propagate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

// This file is where the reconcile asks what an object should be and
// whether it must be written. Each function is a thin call of a pure
// builder, so that the controller and the one-shot calls decide alike.

// Adoption says what happens to a same-named secret in a target namespace
// that registrykit did not make.
type Adoption string

// The adoption policies.
const (
	// LeaveForeign leaves such a secret alone; the namespace is reported
	// Skipped (registrykit.SkipForeign, a warning) and nothing is attached.
	LeaveForeign Adoption = ""
	// AdoptForeign takes over a secret that is an image pull secret for the
	// same registries as the source (what the guide's manual copy makes)
	// and leaves every other one alone.
	AdoptForeign Adoption = "adopt"
	// OverwriteForeign replaces any same-named secret.
	OverwriteForeign Adoption = "overwrite"
)

func (a Adoption) valid() bool {
	return a == LeaveForeign || a == AdoptForeign || a == OverwriteForeign
}

// lastApplied is kubectl's annotation; it holds the whole source object, so
// a copy must not carry it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// desiredCopy is the copy of src that namespace ns should hold.
func desiredCopy(r *Rule, src *corev1.Secret, ns string) *corev1.Secret {
	ann := maps.Clone(src.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	delete(ann, lastApplied)
	ann[pullsecret.AnnotationCopiedFrom] = r.Source.String()
	ann[pullsecret.AnnotationContentHash] = contentHash(src.Type, src.Data)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        r.copyName(),
			Namespace:   ns,
			Labels:      maps.Clone(src.Labels),
			Annotations: ann,
		},
		Type: src.Type,
		Data: src.Data,
	}
}

// copyDecision is what to do about one copy.
type copyDecision struct {
	result registrykit.Result
	// write is the object to create (cur nil, or replace) or update; nil
	// when nothing is written.
	write *corev1.Secret
	// replace: delete cur, then create write (the type or immutability
	// cannot be updated).
	replace bool
}

// decideCopy compares the current copy (nil: none) with want under the
// adoption policy.
func decideCopy(cur, want *corev1.Secret, adoption Adoption) copyDecision {
	if cur == nil {
		return copyDecision{result: registrykit.Result{Action: registrykit.Created, Reason: "copied from " + want.Annotations[pullsecret.AnnotationCopiedFrom]}, write: want}
	}
	origin := want.Annotations[pullsecret.AnnotationCopiedFrom]
	ours := cur.Annotations[pullsecret.AnnotationCopiedFrom] == origin
	if !ours {
		switch {
		case adoption == OverwriteForeign:
		case adoption == AdoptForeign && sameRegistries(cur, want):
		default:
			why := "exists without " + pullsecret.AnnotationCopiedFrom
			if o := cur.Annotations[pullsecret.AnnotationCopiedFrom]; o != "" {
				why = "exists, copied from " + o
			}
			return copyDecision{result: registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipForeign, Reason: why + "; left alone"}}
		}
	}
	if ours && cur.Type == want.Type && contentHash(cur.Type, cur.Data) == want.Annotations[pullsecret.AnnotationContentHash] &&
		maps.Equal(want.Labels, cur.Labels) && subset(want.Annotations, cur.Annotations) && cur.Annotations[lastApplied] == "" {
		return copyDecision{result: registrykit.Result{Action: registrykit.Unchanged, Reason: "copy is current"}}
	}
	why := "content changed at source " + origin
	switch {
	case !ours && adoption == AdoptForeign:
		why = "adopted (same registries as " + origin + ")"
	case !ours:
		why = "overwritten (foreign secret, overwrite policy)"
	}
	if cur.Type != want.Type || (cur.Immutable != nil && *cur.Immutable) {
		return copyDecision{result: registrykit.Result{Action: registrykit.Updated, Reason: why + "; replaced (type or immutability)"}, write: want, replace: true}
	}
	upd := cur.DeepCopy()
	upd.Data = want.Data
	upd.Labels = maps.Clone(want.Labels) // the source's labels, removals included
	upd.Annotations = mergeMaps(upd.Annotations, want.Annotations)
	delete(upd.Annotations, lastApplied)
	return copyDecision{result: registrykit.Result{Action: registrykit.Updated, Reason: why}, write: upd}
}

// sameRegistries reports whether cur is an image pull secret for exactly
// the registries of want.
func sameRegistries(cur, want *corev1.Secret) bool {
	a, err := dockerconfig.ParseSecret(string(cur.Type), cur.Data)
	if err != nil {
		return false
	}
	b, err := dockerconfig.ParseSecret(string(want.Type), want.Data)
	if err != nil {
		return false
	}
	return slices.Equal(a.Servers(), b.Servers())
}

// withPullSecret returns sa with secret added to imagePullSecrets, and
// whether that changed it.
func withPullSecret(sa *corev1.ServiceAccount, secret string) (*corev1.ServiceAccount, bool) {
	for _, r := range sa.ImagePullSecrets {
		if r.Name == secret {
			return sa, false
		}
	}
	out := sa.DeepCopy()
	out.ImagePullSecrets = append(out.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
	return out, true
}

// withoutPullSecret returns sa without secret in imagePullSecrets, and
// whether that changed it.
func withoutPullSecret(sa *corev1.ServiceAccount, secret string) (*corev1.ServiceAccount, bool) {
	i := slices.IndexFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret })
	if i < 0 {
		return sa, false
	}
	out := sa.DeepCopy()
	out.ImagePullSecrets = slices.DeleteFunc(out.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret })
	return out, true
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
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

// contentHash is "sha256:<hex>" over a secret's type and data, keys
// sorted, every field length-prefixed.
func contentHash(typ corev1.SecretType, data map[string][]byte) string {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(typ))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		field([]byte(k))
		field(data[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
