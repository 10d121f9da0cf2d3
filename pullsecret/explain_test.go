package pullsecret

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

const explainNS = "team-a"

func explainPod(name, sa string, pull ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: explainNS, Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			Containers:         []corev1.Container{{Name: "app", Image: "us.icr.io/team/app:1"}},
		},
	}
	for _, s := range pull {
		p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	return p
}

// rawSecret is a secret with the given type and data, for the broken cases.
func rawSecret(name string, typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: explainNS, Name: name}, Type: typ, Data: data}
}

func cred(secret, server string) Credential {
	return Credential{Secret: secret, Server: server, Username: "iamapikey"}
}

func TestExplain(t *testing.T) {
	icrData := func(t *testing.T, servers ...string) map[string][]byte {
		return map[string][]byte{corev1.DockerConfigJsonKey: marshal(t, cfgOf(t, servers...))}
	}
	tests := []struct {
		name        string
		objs        func(t *testing.T) []runtime.Object
		subject     Subject
		image       string
		wantStates  []string // "secret=state" of Secrets, then "+secret=state" of NotInPod
		wantCreds   []Credential
		wantOK      bool
		wantVerdict string
	}{
		{
			name: "image from de.icr.io, only default-us-icr-io",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "default-dockercfg-x7k2p", "default-us-icr-io"),
					rawSecret("default-dockercfg-x7k2p", corev1.SecretTypeDockercfg, map[string][]byte{corev1.DockerConfigKey: []byte(`{"172.30.1.1:5000":{"auth":"c2VydmljZWFjY291bnQ6dG9rZW4="}}`)}),
					pullSecret(t, explainNS, "default-us-icr-io", "us.icr.io"),
				}
			},
			image:       "de.icr.io/team/app:1",
			wantStates:  []string{"default-dockercfg-x7k2p=no-match", "default-us-icr-io=no-match"},
			wantVerdict: "secret default-us-icr-io has no entry for de.icr.io: add an entry for de.icr.io (icr.APIKeyConfig with that region's domain, or all-icr-io, which has every region)",
		},
		{
			name: "a copy that became Opaque",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "all-icr-io"),
					rawSecret("all-icr-io", corev1.SecretTypeOpaque, icrData(t, "us.icr.io")),
				}
			},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"all-icr-io=wrong-type"},
			wantVerdict: "secret all-icr-io is Opaque: the kubelet ignores it; recreate it as kubernetes.io/dockerconfigjson",
		},
		{
			name: "pod created before the service account was patched",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "default-dockercfg-x7k2p", "all-icr-io"),
					explainPod("p", "", "default-dockercfg-x7k2p"),
					pullSecret(t, explainNS, "default-dockercfg-x7k2p", "172.30.1.1:5000"),
					pullSecret(t, explainNS, "all-icr-io", "icr.io", "us.icr.io", "de.icr.io"),
				}
			},
			subject:     Subject{Pod: "p"},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"default-dockercfg-x7k2p=no-match", "+all-icr-io=matching"},
			wantVerdict: "pod p was created before service account default got all-icr-io (pods copy the account's imagePullSecrets at creation): delete and recreate the pod",
		},
		{
			name: "pod created with no secrets before the account had any",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "builder", "all-icr-io"),
					explainPod("p", "builder"),
					pullSecret(t, explainNS, "all-icr-io", "us.icr.io"),
				}
			},
			subject:     Subject{Pod: "p"},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"+all-icr-io=matching"},
			wantVerdict: "pod p was created before service account builder got all-icr-io",
		},
		{
			name: "pod that lists its own secrets does not get the account's",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "all-icr-io"),
					explainPod("p", "default", "quay-creds"),
					pullSecret(t, explainNS, "quay-creds", "quay.io"),
					pullSecret(t, explainNS, "all-icr-io", "us.icr.io"),
				}
			},
			subject:     Subject{Pod: "p"},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"quay-creds=no-match", "+all-icr-io=matching"},
			wantVerdict: "pod p lists its own imagePullSecrets, so admission did not add service account default's all-icr-io",
		},
		{
			name: "pod that has the account's secrets is ok",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "all-icr-io"),
					explainPod("p", "default", "all-icr-io"),
					pullSecret(t, explainNS, "all-icr-io", "us.icr.io"),
				}
			},
			subject:     Subject{Pod: "p"},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"all-icr-io=matching"},
			wantCreds:   []Credential{cred("all-icr-io", "us.icr.io")},
			wantOK:      true,
			wantVerdict: "ok: the kubelet tries 1 credential(s) for us.icr.io, first secret all-icr-io, key us.icr.io, user iamapikey",
		},
		{
			name: "*.icr.io key and an icr.io image: a glob needs a label",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "wildcard"),
					pullSecret(t, explainNS, "wildcard", "*.icr.io"),
				}
			},
			image:       "icr.io/team/app:1",
			wantStates:  []string{"wildcard=no-match"},
			wantVerdict: "secret wildcard has no entry for icr.io",
		},
		{
			name: "*.icr.io key and a us.icr.io image match",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "wildcard"),
					pullSecret(t, explainNS, "wildcard", "*.icr.io"),
				}
			},
			image:      "us.icr.io/team/app:1",
			wantStates: []string{"wildcard=matching"},
			wantCreds:  []Credential{cred("wildcard", "*.icr.io")},
			wantOK:     true,
		},
		{
			name: "missing secret",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{serviceAccount(explainNS, "default", "all-icr-io")}
			},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"all-icr-io=missing"},
			wantVerdict: "secret all-icr-io is not in namespace team-a: copy it with registry.CopyICRSecret",
		},
		{
			name: "missing secret for a non-ICR registry",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{serviceAccount(explainNS, "default", "quay-creds")}
			},
			image:       "quay.io/team/app",
			wantStates:  []string{"quay-creds=missing"},
			wantVerdict: "secret quay-creds is not in namespace team-a: create it, or copy it from another namespace with pullsecret.Copy",
		},
		{
			name: "wrong key",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "all-icr-io"),
					rawSecret("all-icr-io", corev1.SecretTypeDockerConfigJson, map[string][]byte{"config.json": icrData(t, "us.icr.io")[corev1.DockerConfigJsonKey]}),
				}
			},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"all-icr-io=wrong-key"},
			wantVerdict: "secret all-icr-io has no .dockerconfigjson data key: the kubelet ignores it; recreate it with the document under .dockerconfigjson",
		},
		{
			name: "unparsable secret fails the pull even beside a match",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "all-icr-io", "broken"),
					pullSecret(t, explainNS, "all-icr-io", "us.icr.io"),
					rawSecret("broken", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths": {"us.icr.io": {"auth": "!!!` + testPassword + `"}}}`)}),
				}
			},
			image:      "us.icr.io/team/app:1",
			wantStates: []string{"all-icr-io=matching", "broken=unparsable"},
			// The kubelet's keyring construction fails before any lookup:
			// it tries no credential at all.
			wantVerdict: "secret broken cannot be parsed",
		},
		{
			name: "no auths object is an empty keyring, not a parse failure",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "legacy-in-json"),
					rawSecret("legacy-in-json", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"us.icr.io":{"auth":"dXNlcjpwYXNz"}}`)}),
				}
			},
			image:       "us.icr.io/team/app:1",
			wantStates:  []string{"legacy-in-json=no-match"},
			wantVerdict: "secret legacy-in-json has no entry for us.icr.io",
		},
		{
			name: "multiple matches across secrets, most specific key first",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "a", "", "b"),
					pullSecret(t, explainNS, "a", "us.icr.io", "*.icr.io"),
					pullSecret(t, explainNS, "b", "us.icr.io/team", "https://de.icr.io/v1/"),
				}
			},
			image:      "us.icr.io/team/app:1",
			wantStates: []string{"a=matching", "b=matching"},
			wantCreds: []Credential{
				cred("b", "us.icr.io/team"),
				cred("a", "us.icr.io"),
				cred("a", "*.icr.io"),
			},
			wantOK: true,
		},
		{
			name: "same registry in two secrets: secret order",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "old", "new"),
					pullSecret(t, explainNS, "old", "https://us.icr.io/v1/"),
					pullSecret(t, explainNS, "new", "us.icr.io"),
				}
			},
			image:      "us.icr.io/team/app:1",
			wantStates: []string{"old=matching", "new=matching"},
			wantCreds:  []Credential{cred("old", "https://us.icr.io/v1/"), cred("new", "us.icr.io")},
			wantOK:     true,
		},
		{
			name: "Docker Hub image uses index.docker.io only when nothing else matches",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "default", "hub-legacy", "hub"),
					pullSecret(t, explainNS, "hub-legacy", "https://index.docker.io/v1/"),
					pullSecret(t, explainNS, "hub", "docker.io"),
				}
			},
			image:      "nginx:1.27",
			wantStates: []string{"hub-legacy=no-match", "hub=matching"},
			wantCreds:  []Credential{cred("hub", "docker.io")},
			wantOK:     true,
		},
		{
			name: "Docker Hub fallback",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{
					serviceAccount(explainNS, "robot", "hub-legacy"),
					pullSecret(t, explainNS, "hub-legacy", "https://index.docker.io/v1/"),
				}
			},
			subject:    Subject{ServiceAccount: "robot"},
			image:      "library/nginx",
			wantStates: []string{"hub-legacy=matching"},
			wantCreds:  []Credential{cred("hub-legacy", "https://index.docker.io/v1/")},
			wantOK:     true,
		},
		{
			name: "no pull secrets at all",
			objs: func(t *testing.T) []runtime.Object {
				return []runtime.Object{serviceAccount(explainNS, "default")}
			},
			image:       "us.icr.io/team/app:1",
			wantVerdict: "service account default has no image pull secrets: the kubelet pulls us.icr.io/team/app:1 with node credentials only; attach a pull secret to service account default (pullsecret.AttachToServiceAccount)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(tt.objs(t)...)
			got, err := Explain(context.Background(), kube, explainNS, tt.subject, tt.image)
			if err != nil {
				t.Fatalf("Explain: %v", err)
			}
			assertNoSecret(t, nil, got, got.String())
			var states []string
			for _, s := range got.Secrets {
				states = append(states, s.Name+"="+string(s.State))
			}
			for _, s := range got.NotInPod {
				states = append(states, "+"+s.Name+"="+string(s.State))
			}
			if diff := cmp.Diff(tt.wantStates, states); diff != "" {
				t.Errorf("states (-want +got):\n%s\n%s", diff, got)
			}
			if diff := cmp.Diff(tt.wantCreds, got.Credentials); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
			if got.OK != tt.wantOK {
				t.Errorf("OK = %v, want %v\n%s", got.OK, tt.wantOK, got)
			}
			if !contains(got.Verdict, tt.wantVerdict) {
				t.Errorf("verdict = %q\nwant it to contain %q", got.Verdict, tt.wantVerdict)
			}
			if contains(got.Verdict, "\n") {
				t.Errorf("verdict is not one line: %q", got.Verdict)
			}
			if !contains(got.String(), "verdict: "+got.Verdict) {
				t.Errorf("String lacks the verdict:\n%s", got)
			}
		})
	}
}

// TestExplainAgreesWithLookup checks the cross-secret order against
// dockerconfig.Lookup: each secret's credentials are its Lookup result in
// order, and the whole list follows Lookup over every key at once.
func TestExplainAgreesWithLookup(t *testing.T) {
	secrets := map[string][]string{
		"s1": {"us.icr.io", "*.icr.io", "icr.io"},
		"s2": {"us.icr.io/team/app", "https://de.icr.io/v1/"},
		"s3": {"us.icr.io/team", "*.*.io", "private.us.icr.io"},
	}
	order := []string{"s1", "s2", "s3"}
	objs := []runtime.Object{serviceAccount(explainNS, "default", order...)}
	all := &dockerconfig.Config{Auths: map[string]dockerconfig.Entry{}}
	for _, n := range order {
		objs = append(objs, pullSecret(t, explainNS, n, secrets[n]...))
		for _, s := range secrets[n] {
			all.Auths[s] = dockerconfig.Entry{Username: "iamapikey"}
		}
	}
	kube := fake.NewClientset(objs...)
	for _, image := range []string{"us.icr.io/team/app:1", "us.icr.io/other/app", "de.icr.io/x/y", "icr.io/x/y", "private.us.icr.io/a/b"} {
		t.Run(image, func(t *testing.T) {
			got, err := Explain(context.Background(), kube, explainNS, Subject{}, image)
			if err != nil {
				t.Fatal(err)
			}
			var wantAll []string
			for _, m := range all.Lookup(image) {
				wantAll = append(wantAll, mustNorm(t, m.Server))
			}
			var gotAll []string
			for _, c := range got.Credentials {
				gotAll = append(gotAll, mustNorm(t, c.Server))
			}
			if diff := cmp.Diff(wantAll, gotAll); diff != "" {
				t.Errorf("normalised key order differs from Lookup over every key (-want +got):\n%s", diff)
			}
			for _, n := range order {
				var want, gotS []string
				for _, m := range cfgOf(t, secrets[n]...).Lookup(image) {
					want = append(want, m.Server)
				}
				for _, c := range got.Credentials {
					if c.Secret == n {
						gotS = append(gotS, c.Server)
					}
				}
				if diff := cmp.Diff(want, gotS); diff != "" {
					t.Errorf("secret %s: order differs from its Lookup (-want +got):\n%s", n, diff)
				}
			}
			if got.OK != (len(wantAll) > 0) {
				t.Errorf("OK = %v with %d Lookup matches", got.OK, len(wantAll))
			}
		})
	}
}

func mustNorm(t *testing.T, s string) string {
	t.Helper()
	n, err := dockerconfig.NormalizeServer(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestExplainValidatesBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		subject   Subject
		image     string
		fields    []string
	}{
		{"everything wrong", "Team_A", Subject{Pod: "p", ServiceAccount: "default"}, "us.icr.io/Team/App", []string{"namespace", "subject.serviceAccount", "image"}},
		{"empty image", explainNS, Subject{}, "", []string{"image"}},
		{"scheme", explainNS, Subject{}, "https://us.icr.io/team/app", []string{"image"}},
		{"bad tag", explainNS, Subject{}, "us.icr.io/team/app:-1", []string{"image"}},
		{"bad digest", explainNS, Subject{}, "us.icr.io/team/app@sha256:xyz", []string{"image"}},
		{"bad port", explainNS, Subject{}, "us.icr.io:99999/team/app", []string{"image"}},
		{"credentials", explainNS, Subject{}, "u:pw@us.icr.io/team/app", []string{"image"}},
		{"bad pod name", explainNS, Subject{Pod: "P!"}, "nginx", []string{"subject.pod"}},
		{"bad service account", explainNS, Subject{ServiceAccount: "a/b"}, "nginx", []string{"subject.serviceAccount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			_, err := Explain(context.Background(), kube, tt.namespace, tt.subject, tt.image)
			if !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("err = %v, want registrykit.ErrInvalid", err)
			}
			if diff := cmp.Diff(tt.fields, fieldPaths(err)); diff != "" {
				t.Errorf("invalid fields (-want +got):\n%s\nerr: %v", diff, err)
			}
			if n := len(kube.Actions()); n != 0 {
				t.Errorf("%d API calls before validation failed", n)
			}
		})
	}
}

// An image with credentials in front is refused for what it is (not as a
// bad digest), and the password is not echoed.
func TestExplainRefusesCredentialsInTheImage(t *testing.T) {
	_, err := Explain(context.Background(), fake.NewClientset(), explainNS, Subject{}, "iamapikey:s3cret@us.icr.io/team/app:1")
	if err == nil || !strings.Contains(err.Error(), "must not contain credentials") || strings.Contains(err.Error(), "digest") {
		t.Errorf("err = %v, want a refusal naming the credentials", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err echoes the password: %v", err)
	}
}

func TestExplainValidImages(t *testing.T) {
	for image, want := range map[string]string{
		"nginx":                         "docker.io",
		"library/nginx:1.27":            "docker.io",
		"index.docker.io/library/nginx": "docker.io",
		"us.icr.io/team/app:1":          "us.icr.io",
		"localhost/app":                 "localhost",
		"registry.example.com:5000/a/b@sha256:" + fmt.Sprintf("%064x", 1): "registry.example.com:5000",
		"[::1]:5000/app": "[::1]:5000",
	} {
		got, problem := parseImage(image)
		if problem != "" || got != want {
			t.Errorf("parseImage(%q) = %q, %q; want %q", image, got, problem, want)
		}
	}
}

func TestExplainNotFound(t *testing.T) {
	kube := fake.NewClientset(serviceAccount(explainNS, "default"))
	_, err := Explain(context.Background(), kube, explainNS, Subject{Pod: "gone"}, "nginx")
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "pod" || !errors.Is(err, ErrNotFound) {
		t.Errorf("missing pod: err = %v, want a pod *NotFoundError", err)
	}
	_, err = Explain(context.Background(), kube, explainNS, Subject{ServiceAccount: "robot"}, "nginx")
	if !errors.As(err, &nf) || nf.Kind != "serviceaccount" || nf.Name != "robot" {
		t.Errorf("missing service account: err = %v, want a serviceaccount *NotFoundError", err)
	}
	// A pod whose account is gone is still explained, without comparison.
	kube = fake.NewClientset(explainPod("p", "deleted-sa", "all-icr-io"), pullSecret(t, explainNS, "all-icr-io", "us.icr.io"))
	got, err := Explain(context.Background(), kube, explainNS, Subject{Pod: "p"}, "us.icr.io/team/app")
	if err != nil || !got.OK || got.ServiceAccount != "deleted-sa" {
		t.Errorf("pod without its account: OK=%v sa=%q err=%v", got.OK, got.ServiceAccount, err)
	}
}

func TestExplainReadsOnly(t *testing.T) {
	kube := fake.NewClientset(
		serviceAccount(explainNS, "default", "all-icr-io", "all-icr-io"),
		explainPod("p", "", "all-icr-io"),
		pullSecret(t, explainNS, "all-icr-io", "us.icr.io"),
	)
	if _, err := Explain(context.Background(), kube, explainNS, Subject{Pod: "p"}, "us.icr.io/team/app"); err != nil {
		t.Fatal(err)
	}
	want := []string{"get pods team-a", "get serviceaccounts team-a", "get secrets team-a"}
	if diff := cmp.Diff(want, readActions(kube)); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
	if w := writeActions(kube); len(w) != 0 {
		t.Errorf("writes: %v", w)
	}
}
