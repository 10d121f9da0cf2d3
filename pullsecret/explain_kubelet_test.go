package pullsecret

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// The kubelet scenarios: what the kubelet of k8s.io/kubernetes v1.37 does
// with a pod's image pull secrets, one rule per row, each naming the code
// it follows (paths under k8s.io/kubernetes). The rows are plain data so
// that they can also be run against the kubelet's own code.

// kubeletScenarioNS is the namespace of every scenario.
const kubeletScenarioNS = "team-k"

// kubeletScenarioPassword is planted in every credential; no explanation may
// contain it.
const kubeletScenarioPassword = "s3cr3t-kubelet-scenario"

// kubeletScenario is one pod: its imagePullSecrets (refs), the secrets in
// its namespace, and what the kubelet does when it pulls image.
type kubeletScenario struct {
	name    string
	kubelet string // the code it follows: file:function
	refs    []string
	secrets []*corev1.Secret
	image   string // default us.icr.io/team/app:1
	// states are "secret=state" in list order; creds are the credentials
	// the kubelet tries, in its order, as "secret key user" ("-" for no
	// username).
	states  []string
	creds   []string
	ok      bool
	verdict string // part of the verdict
}

// kAuth is the "auth" value of user with the scenario password.
func kAuth(user string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + kubeletScenarioPassword))
}

// kJSON is a kubernetes.io/dockerconfigjson secret holding doc.
func kJSON(name, doc string) *corev1.Secret {
	return kSecret(name, corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, doc)
}

// kCfg is a kubernetes.io/dockercfg secret holding doc.
func kCfg(name, doc string) *corev1.Secret {
	return kSecret(name, corev1.SecretTypeDockercfg, corev1.DockerConfigKey, doc)
}

func kSecret(name string, typ corev1.SecretType, key, doc string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: kubeletScenarioNS, Name: name},
		Type:       typ,
		Data:       map[string][]byte{key: []byte(doc)},
	}
}

// kGood is a secret with one ordinary entry per server, for user.
func kGood(name, user string, servers ...string) *corev1.Secret {
	doc := `{"auths":{`
	for i, s := range servers {
		if i > 0 {
			doc += ","
		}
		doc += `"` + s + `":{"username":"` + user + `","password":"` + kubeletScenarioPassword + `","auth":"` + kAuth(user) + `"}`
	}
	return kJSON(name, doc+`}}`)
}

const (
	secretsGo  = "pkg/credentialprovider/secrets/secrets.go:secretsToTrackedDockerConfigs"
	entryGo    = "pkg/credentialprovider/config.go:DockerConfigEntry.UnmarshalJSON"
	authGo     = "pkg/credentialprovider/config.go:decodeDockerConfigFieldAuth"
	configGo   = "pkg/credentialprovider/config.go:DockerConfigJSON"
	addGo      = "pkg/credentialprovider/keyring.go:BasicDockerKeyring.Add"
	lookupGo   = "pkg/credentialprovider/keyring.go:BasicDockerKeyring.Lookup"
	matchGo    = "pkg/credentialprovider/keyring.go:URLsMatch"
	hubGo      = "pkg/credentialprovider/keyring.go:isDefaultRegistryMatch"
	podGo      = "pkg/kubelet/kubelet_pods.go:getPullSecretsForPod"
	imageGo    = "pkg/kubelet/images/image_manager.go:makeLookupPullCredentialsFunc"
	parseImgGo = "pkg/util/parsers/parsers.go:ParseImageName"
)

func kubeletScenarios() []kubeletScenario {
	a := kAuth
	return []kubeletScenario{
		// Reading the document: encoding/json into the kubelet's types.
		{
			name: "Auths in capitals is read as auths", kubelet: secretsGo + " (encoding/json folds case)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"Auths":{"us.icr.io":{"auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "entry field names in any case", kubelet: entryGo + " (encoding/json folds case)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"AUTHS":{"us.icr.io":{"Username":"robot","PASSWORD":"`+kubeletScenarioPassword+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "Auth in capitals is decoded", kubelet: entryGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"Auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "Auth in capitals that is not base64 fails every pull", kubelet: entryGo + " + " + imageGo,
			refs:    []string{"good", "s"},
			secrets: []*corev1.Secret{kGood("good", "robot", "us.icr.io"), kJSON("s", `{"auths":{"de.icr.io":{"Auth":"not base64!"}}}`)},
			states:  []string{"good=matching", "s=unparsable"}, verdict: "secret s cannot be parsed (entry de.icr.io: auth is not base64)",
		},
		{
			name: "auth replaces username and password", kubelet: entryGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"username":"someone-else","password":"x","auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "a username with a colon is sent as is", kubelet: entryGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"username":"team:robot","password":"`+kubeletScenarioPassword+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io team:robot"}, ok: true,
		},
		{
			name: "unpadded auth is decoded", kubelet: authGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"auth":"`+base64.RawStdEncoding.EncodeToString([]byte("robot:"+kubeletScenarioPassword+"x"))+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "auth that is not base64 fails every pull", kubelet: authGo + " + " + imageGo,
			refs:    []string{"good", "s"},
			secrets: []*corev1.Secret{kGood("good", "robot", "us.icr.io"), kJSON("s", `{"auths":{"de.icr.io":{"auth":"!!!`+kubeletScenarioPassword+`"}}}`)},
			states:  []string{"good=matching", "s=unparsable"}, verdict: "secret s cannot be parsed (entry de.icr.io: auth is not base64): the kubelet fails every image pull of pod p",
		},
		{
			name: "auth without a colon fails every pull", kubelet: authGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"auth":"`+base64.StdEncoding.EncodeToString([]byte(kubeletScenarioPassword))+`"}}}`)},
			states:  []string{"s=unparsable"}, verdict: "entry us.icr.io: auth does not decode to user:password",
		},
		{
			name: "a null entry is an empty credential: an anonymous pull", kubelet: entryGo + " (null leaves it empty)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":null}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io -"}, verdict: "hold no username or password",
		},
		{
			name: "a null entry beside a good one", kubelet: entryGo + " + " + lookupGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":null,"*.icr.io":{"auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io -", "s *.icr.io robot"}, ok: true,
		},
		{
			name: "identitytoken is not read: an anonymous pull", kubelet: configGo + "Entry (Username, Password, Email only)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"identitytoken":"`+kubeletScenarioPassword+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io -"}, verdict: "the kubelet does not read",
		},
		{
			name: "an identitytoken that is not a string is ignored", kubelet: entryGo + " (unknown fields ignored)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"auth":"`+a("robot")+`","identitytoken":7,"registrytoken":{}}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "a username that is a number fails every pull", kubelet: entryGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"username":5,"password":"`+kubeletScenarioPassword+`"}}}`)},
			states:  []string{"s=unparsable"}, verdict: "entry us.icr.io: username is a JSON number, not a string",
		},
		{
			name: "HttpHeaders with a number fails every pull", kubelet: configGo + " (HttpHeaders map[string]string)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"auth":"`+a("robot")+`"}},"HttpHeaders":{"X-Retries":3}}`)},
			states:  []string{"s=unparsable"}, verdict: "HttpHeaders must map header names to strings",
		},
		{
			name: "credsStore and credHelpers are ignored", kubelet: configGo + " (unknown fields ignored)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"auth":"`+a("robot")+`"}},"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "two auths objects add up", kubelet: secretsGo + " (encoding/json decodes both into one map)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io":{"auth":"`+a("robot")+`"}},"Auths":{"de.icr.io":{"auth":"`+a("de")+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "a null document is an empty keyring", kubelet: secretsGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `null`)},
			states:  []string{"s=no-match"}, verdict: "secret s has no entry for us.icr.io",
		},
		{
			name: "null auths is an empty keyring", kubelet: secretsGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":null}`)},
			states:  []string{"s=no-match"}, verdict: "secret s has no entry for us.icr.io",
		},
		{
			name: "an array document fails every pull", kubelet: secretsGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `[]`)},
			states:  []string{"s=unparsable"}, verdict: "the document is a JSON array, not an object",
		},
		{
			name: "auths that is a string fails every pull", kubelet: secretsGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":"us.icr.io"}`)},
			states:  []string{"s=unparsable"}, verdict: `"auths" is a JSON string, not an object`,
		},
		{
			name: "a dockercfg secret holding a .dockerconfigjson document", kubelet: secretsGo + " (.dockercfg is a bare map, whatever it holds)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kCfg("s", `{"auths":{"us.icr.io":{"auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=no-match"}, verdict: "recreate it as kubernetes.io/dockerconfigjson",
		},
		{
			name: "a dockerconfigjson secret holding .dockercfg data", kubelet: secretsGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"us.icr.io":{"auth":"`+a("robot")+`"}}`)},
			states:  []string{"s=no-match"}, verdict: `secret s has no entry for us.icr.io: its .dockerconfigjson has no "auths" object`,
		},
		{
			name: "a null .dockercfg is an empty keyring", kubelet: secretsGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kCfg("s", `null`)},
			states:  []string{"s=no-match"},
		},
		{
			name: "a .dockercfg with a string entry fails every pull", kubelet: secretsGo + " + " + entryGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kCfg("s", `{"us.icr.io":{"auth":"`+a("robot")+`"},"credsStore":"desktop"}`)},
			states:  []string{"s=unparsable"}, verdict: "entry credsStore: is a JSON string, not an object",
		},
		{
			name: "an empty .dockerconfigjson is ignored", kubelet: secretsGo + " (len > 0)",
			refs:    []string{"s", "good"},
			secrets: []*corev1.Secret{kJSON("s", ``), kGood("good", "robot", "us.icr.io")},
			states:  []string{"s=wrong-key", "good=matching"}, creds: []string{"good us.icr.io robot"}, ok: true,
		},
		{
			name: "an Opaque secret is ignored", kubelet: secretsGo + " (type)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kSecret("s", corev1.SecretTypeOpaque, corev1.DockerConfigJsonKey, `{"auths":{"us.icr.io":{"auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=wrong-type"}, verdict: "secret s is Opaque: the kubelet ignores it",
		},
		// Building the keyring: registry keys.
		{
			name: "a key that is not a URL is ignored, the others kept", kubelet: addGo + " (url.Parse error: ignoring)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"us.icr.io:http":{"auth":"`+a("x")+`"},"my registry":{"auth":"`+a("y")+`"},"us.icr.io":{"auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "userinfo in a key is dropped", kubelet: addGo + " (url.Parse; key is Host + path)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kJSON("s", `{"auths":{"robot:`+kubeletScenarioPassword+`@us.icr.io":{"auth":"`+a("robot")+`"}}}`)},
			states:  []string{"s=matching"}, creds: []string{"s REDACTED@us.icr.io robot"}, ok: true,
		},
		{
			name: "scheme and /v2/ are dropped from a key", kubelet: addGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "https://us.icr.io/v2/team", "http://de.icr.io")},
			states:  []string{"s=matching"}, creds: []string{"s https://us.icr.io/v2/team robot"}, ok: true,
		},
		{
			name: "case in a key is kept", kubelet: matchGo + " (filepath.Match per label)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "US.ICR.IO")},
			states:  []string{"s=no-match"}, verdict: "secret s has no entry for us.icr.io",
		},
		// Looking up the image.
		{
			name: "a key's path is a string prefix", kubelet: matchGo + " (strings.HasPrefix)",
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "us.icr.io/te")},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io/te robot"}, ok: true,
		},
		{
			name: "a glob needs as many labels", kubelet: matchGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "*.icr.io")},
			image:   "icr.io/team/app:1",
			states:  []string{"s=no-match"}, verdict: "secret s has no entry for icr.io",
		},
		{
			name: "ports must be equal", kubelet: matchGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "us.icr.io:443")},
			states:  []string{"s=no-match"},
		},
		{
			name: "keys in reverse order across secrets, then list order", kubelet: addGo + " (sort.Reverse) + " + lookupGo,
			refs: []string{"a", "b", "c", "d"},
			secrets: []*corev1.Secret{
				kGood("a", "a", "*.icr.io"), kGood("b", "b", "us.icr.io"),
				kGood("c", "c", "us.icr.io/team"), kGood("d", "d", "https://us.icr.io/v1/"),
			},
			states: []string{"a=matching", "b=matching", "c=matching", "d=matching"},
			creds:  []string{"c us.icr.io/team c", "b us.icr.io b", "d https://us.icr.io/v1/ d", "a *.icr.io a"}, ok: true,
		},
		{
			name: "a Docker Hub image is docker.io/library/...", kubelet: parseImgGo + " + " + matchGo,
			refs:    []string{"s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "docker.io/library")},
			image:   "nginx:1.27",
			states:  []string{"s=matching"}, creds: []string{"s docker.io/library robot"}, ok: true,
		},
		{
			name: "index.docker.io in the image is docker.io", kubelet: parseImgGo + " + " + lookupGo,
			refs:    []string{"hub", "legacy"},
			secrets: []*corev1.Secret{kGood("hub", "hub", "docker.io"), kGood("legacy", "legacy", "https://index.docker.io/v1/")},
			image:   "index.docker.io/library/ubuntu",
			states:  []string{"hub=matching", "legacy=no-match"}, creds: []string{"hub docker.io hub"}, ok: true,
		},
		{
			name: "the index.docker.io entry when nothing else matches", kubelet: lookupGo + " (defaultRegistryHost)",
			refs:    []string{"legacy"},
			secrets: []*corev1.Secret{kGood("legacy", "legacy", "https://index.docker.io/v1/")},
			image:   "library/nginx",
			states:  []string{"legacy=matching"}, creds: []string{"legacy https://index.docker.io/v1/ legacy"}, ok: true,
		},
		{
			name: "the index.docker.io entry is offered to localhost images", kubelet: hubGo + " (no '.' or ':')",
			refs:    []string{"legacy"},
			secrets: []*corev1.Secret{kGood("legacy", "legacy", "index.docker.io")},
			image:   "localhost/app:1",
			states:  []string{"legacy=matching"}, creds: []string{"legacy index.docker.io legacy"}, ok: true,
		},
		{
			name: "but not to localhost:5000 images", kubelet: hubGo,
			refs:    []string{"legacy"},
			secrets: []*corev1.Secret{kGood("legacy", "legacy", "index.docker.io")},
			image:   "localhost:5000/app:1",
			states:  []string{"legacy=no-match"},
		},
		// Which secrets: the pod's list.
		{
			name: "a missing secret is skipped", kubelet: podGo,
			refs:    []string{"gone", "s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "us.icr.io")},
			states:  []string{"gone=missing", "s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "an empty name is skipped", kubelet: podGo,
			refs:    []string{"", "s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "us.icr.io")},
			states:  []string{"s=matching"}, creds: []string{"s us.icr.io robot"}, ok: true,
		},
		{
			name: "a secret listed twice is tried twice", kubelet: podGo + " + " + addGo + " (creds appended)",
			refs:    []string{"s", "t", "s"},
			secrets: []*corev1.Secret{kGood("s", "robot", "us.icr.io"), kGood("t", "other", "us.icr.io")},
			states:  []string{"s=matching", "t=matching", "s=matching"},
			creds:   []string{"s us.icr.io robot", "t us.icr.io other", "s us.icr.io robot"}, ok: true,
			verdict: "ok: the kubelet tries 3 credential(s)",
		},
		{
			name: "an unparsable secret stops the lookup: nothing is tried", kubelet: secretsGo + " + " + imageGo,
			refs:    []string{"good", "bad"},
			secrets: []*corev1.Secret{kGood("good", "robot", "us.icr.io"), kJSON("bad", `{"auths":{"us.icr.io":"`+kubeletScenarioPassword+`"}}`)},
			states:  []string{"good=matching", "bad=unparsable"}, verdict: "secret bad cannot be parsed (entry us.icr.io: is a JSON string, not an object)",
		},
	}
}

// TestExplainFollowsTheKubelet runs every scenario as pod p, whose service
// account lists the same secrets.
func TestExplainFollowsTheKubelet(t *testing.T) {
	scenarios := kubeletScenarios()
	if len(scenarios) < 25 {
		t.Errorf("%d kubelet scenarios, want at least 25", len(scenarios))
	}
	seen := map[string]bool{}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if sc.kubelet == "" || seen[sc.name] {
				t.Fatalf("scenario %q: needs a unique name and the kubelet code it follows", sc.name)
			}
			seen[sc.name] = true
			var refs []corev1.LocalObjectReference
			for _, r := range sc.refs {
				refs = append(refs, corev1.LocalObjectReference{Name: r})
			}
			image := sc.image
			if image == "" {
				image = "us.icr.io/team/app:1"
			}
			objs := []runtime.Object{
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: kubeletScenarioNS, Name: "default"}, ImagePullSecrets: refs},
				&corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Namespace: kubeletScenarioNS, Name: "p"},
					Spec: corev1.PodSpec{
						ServiceAccountName: "default",
						ImagePullSecrets:   refs,
						Containers:         []corev1.Container{{Name: "app", Image: image}},
					},
				},
			}
			for _, s := range sc.secrets {
				objs = append(objs, s)
			}
			e, err := Explain(context.Background(), fake.NewClientset(objs...), kubeletScenarioNS, Subject{Pod: "p"}, image)
			if err != nil {
				t.Fatalf("Explain: %v", err)
			}
			for _, out := range []string{e.String(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
				if strings.Contains(out, kubeletScenarioPassword) {
					t.Fatalf("the explanation contains the password")
				}
			}
			var states, creds []string
			for _, s := range e.Secrets {
				states = append(states, s.Name+"="+string(s.State))
			}
			for _, c := range e.Credentials {
				user := c.Username
				if user == "" {
					user = "-"
				}
				creds = append(creds, c.Secret+" "+c.Server+" "+user)
			}
			if diff := cmp.Diff(sc.states, states); diff != "" {
				t.Errorf("states (-want +got):\n%s\n%s", diff, e)
			}
			if diff := cmp.Diff(sc.creds, creds); diff != "" {
				t.Errorf("credentials (-want +got):\n%s\n%s", diff, e)
			}
			if e.OK != sc.ok || !strings.Contains(e.Verdict, sc.verdict) {
				t.Errorf("OK = %v, verdict %q\nwant OK = %v and a verdict containing %q", e.OK, e.Verdict, sc.ok, sc.verdict)
			}
			if len(e.NotInPod) != 0 {
				t.Errorf("NotInPod = %v, want none: the pod has its account's list", e.NotInPod)
			}
		})
	}
}
