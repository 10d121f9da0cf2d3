package pullsecret

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

var teamA = types.NamespacedName{Namespace: "team-a", Name: "all-icr-io"}

func TestDesiredCopy(t *testing.T) {
	s := sourceSecret(t)
	before := s.DeepCopy()
	got := DesiredCopy(s, teamA)
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "all-icr-io", Namespace: "team-a",
			Labels: map[string]string{"app": "icr"},
			Annotations: map[string]string{
				"note":                "from default",
				AnnotationCopiedFrom:  "default/all-icr-io",
				AnnotationContentHash: ContentHash(s),
			},
		},
		Type: s.Type,
		Data: s.Data,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DesiredCopy (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, s); diff != "" {
		t.Errorf("DesiredCopy changed its source (-before +after):\n%s", diff)
	}
	got.Labels["x"] = "y"
	got.Annotations["x"] = "y"
	if _, ok := s.Labels["x"]; ok {
		t.Error("the copy's labels alias the source's")
	}
	if _, ok := s.Annotations["x"]; ok {
		t.Error("the copy's annotations alias the source's")
	}
}

func TestContentHash(t *testing.T) {
	s := sourceSecret(t)
	h := ContentHash(s)
	if h != ContentHash(s.DeepCopy()) || len(h) != len("sha256:")+64 {
		t.Fatalf("ContentHash = %q, not a stable sha256", h)
	}
	legacy := s.DeepCopy()
	legacy.Type = corev1.SecretTypeDockercfg
	if ContentHash(legacy) == h {
		t.Error("the hash ignores the type")
	}
	relabeled := s.DeepCopy()
	relabeled.Labels = map[string]string{"other": "label"}
	if ContentHash(relabeled) != h {
		t.Error("the hash depends on metadata")
	}
}

func TestDecideCopy(t *testing.T) {
	s := sourceSecret(t)
	want := DesiredCopy(s, teamA)
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatal(err)
	}
	// ours is a current copy as the server returns it.
	ours := func(mutate func(*corev1.Secret)) *corev1.Secret {
		c := want.DeepCopy()
		c.UID, c.ResourceVersion = "copy-uid", "17"
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	// guide is what `oc get secret -o yaml | sed | oc create` made: the
	// source's registries, no provenance, maybe an older key, maybe as
	// https:// keys.
	guide := func(typ corev1.SecretType, rekey func(string) string) *corev1.Secret {
		c := &dockerconfig.Config{}
		for _, server := range cfg.Servers() {
			c.Set(rekey(server), dockerconfig.Entry{Username: "iamapikey", Password: "older-" + testPassword})
		}
		g := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: "team-a", UID: "guide-uid", ResourceVersion: "9",
			Annotations: map[string]string{lastApplied: "{}"}}, Type: typ}
		if typ == corev1.SecretTypeDockercfg {
			b, err := c.MarshalLegacy()
			if err != nil {
				t.Fatal(err)
			}
			g.Data = map[string][]byte{corev1.DockerConfigKey: b}
		} else {
			g.Data = map[string][]byte{corev1.DockerConfigJsonKey: marshal(t, c)}
		}
		return g
	}
	same := func(s string) string { return s }
	withScheme := func(s string) string { return "https://" + s + "/v1/" }
	foreign := pullSecret(t, "team-a", "all-icr-io", "other.example.com")
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "all-icr-io", Namespace: "team-a"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: s.Data[corev1.DockerConfigJsonKey]}}
	otherSource := ours(func(c *corev1.Secret) { c.Annotations[AnnotationCopiedFrom] = "other/all-icr-io" })
	tests := []struct {
		name     string
		cur      *corev1.Secret
		want     *corev1.Secret // nil: the copy for team-a
		adoption Adoption
		action   registrykit.Action
		skip     registrykit.SkipReason
		write    bool // a Write is returned
		replace  bool
		adopted  bool
	}{
		{name: "missing", cur: nil, action: registrykit.Created, write: true},
		{name: "the source itself", cur: s, want: DesiredCopy(s, types.NamespacedName{Namespace: "default", Name: "all-icr-io"}),
			action: registrykit.Skipped, skip: registrykit.SkipSourceNamespace},
		{name: "current copy", cur: ours(nil), action: registrykit.Unchanged},
		{name: "current copy seen without data", cur: ours(func(c *corev1.Secret) { c.Data = nil }), action: registrykit.Unchanged},
		{name: "source changed", cur: ours(func(c *corev1.Secret) {
			c.Data = foreign.Data
			c.Annotations[AnnotationContentHash] = "sha256:old"
		}), action: registrykit.Updated, write: true},
		{name: "data edited by hand, hash kept", cur: ours(func(c *corev1.Secret) { c.Data = foreign.Data }), action: registrykit.Updated, write: true},
		{name: "label removed at the source", cur: ours(func(c *corev1.Secret) { c.Labels["gone"] = "yes" }), action: registrykit.Updated, write: true},
		{name: "immutable and stale", cur: ours(func(c *corev1.Secret) {
			c.Immutable = new(bool)
			*c.Immutable = true
			c.Annotations[AnnotationContentHash] = "sha256:old"
		}), action: registrykit.Updated, write: true, replace: true},
		{name: "guide copy, left alone", cur: guide(s.Type, same), action: registrykit.Skipped, skip: registrykit.SkipForeign},
		{name: "guide copy, adopted", cur: guide(s.Type, same), adoption: AdoptForeign, action: registrykit.Updated, write: true, adopted: true},
		{name: "guide copy with https keys, adopted", cur: guide(s.Type, withScheme), adoption: AdoptForeign, action: registrykit.Updated, write: true, adopted: true},
		{name: "legacy guide copy, adopted by replacing", cur: guide(corev1.SecretTypeDockercfg, same), adoption: AdoptForeign,
			action: registrykit.Updated, write: true, replace: true, adopted: true},
		{name: "other registries, not adopted", cur: foreign, adoption: AdoptForeign, action: registrykit.Skipped, skip: registrykit.SkipForeign},
		{name: "not a pull secret, not adopted", cur: opaque, adoption: AdoptForeign, action: registrykit.Skipped, skip: registrykit.SkipForeign},
		{name: "copy of another source, not adopted", cur: otherSource, adoption: AdoptForeign, action: registrykit.Skipped, skip: registrykit.SkipForeign},
		{name: "guide copy seen without data, not adopted", cur: func() *corev1.Secret { g := guide(s.Type, same); g.Data = nil; return g }(),
			adoption: AdoptForeign, action: registrykit.Skipped, skip: registrykit.SkipForeign},
		{name: "other registries, overwritten", cur: foreign, adoption: OverwriteForeign, action: registrykit.Updated, write: true, adopted: true},
		{name: "copy of another source, overwritten", cur: otherSource, adoption: OverwriteForeign, action: registrykit.Updated, write: true, adopted: true},
		{name: "not a pull secret, overwritten by replacing", cur: opaque, adoption: OverwriteForeign, action: registrykit.Updated, write: true, replace: true, adopted: true},
		{name: "current copy, overwrite changes nothing", cur: ours(nil), adoption: OverwriteForeign, action: registrykit.Unchanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := want
			if tt.want != nil {
				w = tt.want
			}
			var before *corev1.Secret
			if tt.cur != nil {
				before = tt.cur.DeepCopy()
			}
			wantBefore := w.DeepCopy()
			d := DecideCopy(tt.cur, w, tt.adoption)
			if d.Result.Action != tt.action || d.Result.Skip != tt.skip {
				t.Fatalf("Result = %v, want %s [%s]", d.Result, tt.action, tt.skip)
			}
			if d.Result.Reason == "" {
				t.Error("no reason given")
			}
			if got := d.Result.NeedsAttention(); got != (tt.skip == registrykit.SkipForeign) {
				t.Errorf("NeedsAttention = %v", got)
			}
			if (d.Write != nil) != tt.write || d.Replace != tt.replace || d.Adopted != tt.adopted {
				t.Fatalf("Write %v, Replace %v, Adopted %v; want %v, %v, %v", d.Write != nil, d.Replace, d.Adopted, tt.write, tt.replace, tt.adopted)
			}
			if diff := cmp.Diff(before, tt.cur); diff != "" {
				t.Errorf("DecideCopy changed cur (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(wantBefore, w); diff != "" {
				t.Errorf("DecideCopy changed want (-before +after):\n%s", diff)
			}
			if d.Write == nil {
				return
			}
			// What is written is the source's content, labels and
			// provenance, and nothing of kubectl's last-applied state.
			if d.Write.Type != w.Type || !maps.EqualFunc(d.Write.Data, w.Data, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Errorf("written type %q, data differs from the source's", d.Write.Type)
			}
			if !maps.Equal(d.Write.Labels, w.Labels) {
				t.Errorf("written labels %v, want %v", d.Write.Labels, w.Labels)
			}
			for _, k := range []string{AnnotationCopiedFrom, AnnotationContentHash} {
				if d.Write.Annotations[k] != w.Annotations[k] {
					t.Errorf("written %s = %q, want %q", k, d.Write.Annotations[k], w.Annotations[k])
				}
			}
			if _, ok := d.Write.Annotations[lastApplied]; ok {
				t.Error("written object keeps kubectl's last-applied-configuration")
			}
			switch {
			case tt.cur == nil || d.Replace:
				if d.Write.ResourceVersion != "" || d.Write.UID != "" {
					t.Errorf("object to create carries uid %q resourceVersion %q", d.Write.UID, d.Write.ResourceVersion)
				}
			default:
				if d.Write.ResourceVersion != tt.cur.ResourceVersion || d.Write.UID != tt.cur.UID {
					t.Errorf("update does not carry the read resourceVersion: %q", d.Write.ResourceVersion)
				}
			}
		})
	}
}

func TestWithImagePullSecret(t *testing.T) {
	sa := serviceAccount("team-a", "default", "other")
	before := sa.DeepCopy()
	got, changed := WithImagePullSecret(sa, "all-icr-io")
	if !changed {
		t.Fatal("not changed")
	}
	if diff := cmp.Diff([]corev1.LocalObjectReference{{Name: "other"}, {Name: "all-icr-io"}}, got.ImagePullSecrets); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, sa); diff != "" {
		t.Errorf("input changed (-before +after):\n%s", diff)
	}
	again, changed := WithImagePullSecret(got, "all-icr-io")
	if changed || again != got {
		t.Errorf("second add: changed %v, same object %v", changed, again == got)
	}
	without, changed := WithoutImagePullSecret(got, "all-icr-io")
	if !changed || len(without.ImagePullSecrets) != 1 || len(got.ImagePullSecrets) != 2 {
		t.Errorf("remove: changed %v, %v (input %v)", changed, without.ImagePullSecrets, got.ImagePullSecrets)
	}
	if _, changed := WithoutImagePullSecret(without, "all-icr-io"); changed {
		t.Error("removing an absent reference changed the account")
	}
}

func TestWithLink(t *testing.T) {
	sa := serviceAccount("team-a", "builder")
	sa.Secrets = []corev1.ObjectReference{{Name: "icr"}}
	for _, tc := range []struct {
		f     For
		added []string
	}{
		{For{}, nil}, // mount, the default, is there already
		{For{Pull: true}, []string{"imagePullSecrets"}},
		{For{Pull: true, Mount: true}, []string{"imagePullSecrets"}},
	} {
		got, added := WithLink(sa, "icr", tc.f)
		if diff := cmp.Diff(tc.added, added); diff != "" {
			t.Errorf("%v: added (-want +got):\n%s", tc.f, diff)
		}
		if len(added) == 0 && got != sa {
			t.Errorf("%v: unchanged account is a new object", tc.f)
		}
	}
	if len(sa.ImagePullSecrets) != 0 {
		t.Error("WithLink changed its input")
	}
}

func TestCheckSource(t *testing.T) {
	good := sourceSecret(t)
	secret := func(typ corev1.SecretType, key, data string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "s"}, Type: typ, Data: map[string][]byte{key: []byte(data)}}
	}
	tests := []struct {
		name  string
		s     *corev1.Secret
		check func(error) bool
	}{
		{"image pull secret", good, func(err error) bool { return err == nil }},
		{"legacy dockercfg", secret(corev1.SecretTypeDockercfg, corev1.DockerConfigKey, `{"us.icr.io":{"username":"iamapikey","password":"`+testPassword+`"}}`),
			func(err error) bool { return err == nil }},
		{"opaque", secret(corev1.SecretTypeOpaque, corev1.DockerConfigJsonKey, `{"auths":{}}`), func(err error) bool {
			var np *NotPullSecretError
			return errors.Is(err, ErrNotPullSecret) && errors.As(err, &np) && np.Type == "Opaque" && np.Namespace == "default" && np.Name == "s"
		}},
		{"unparsable", secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":`), func(err error) bool {
			return err != nil && strings.HasPrefix(err.Error(), "secret default/s: ") && !errors.Is(err, ErrNotPullSecret)
		}},
		{"no registry", secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":{}}`), func(err error) bool {
			return errors.Is(err, dockerconfig.ErrNoAuths) && strings.HasPrefix(err.Error(), "secret default/s: ")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSource(tt.s)
			if !tt.check(err) {
				t.Errorf("CheckSource = %v", err)
			}
			if err != nil && strings.Contains(err.Error(), testPassword) {
				t.Error("the error holds the password")
			}
		})
	}
}
