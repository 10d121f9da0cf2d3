package harness

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests need no API server.

func TestRequestKey(t *testing.T) {
	tests := []struct {
		method, url, want string
	}{
		{"GET", "/api/v1/namespaces/ns/secrets", "list secrets"},
		{"GET", "/api/v1/secrets?fieldSelector=metadata.name%3Dx", "list secrets"},
		{"GET", "/api/v1/namespaces/ns/secrets/x", "get secrets"},
		{"GET", "/api/v1/namespaces/ns/secrets?watch=true", "watch secrets"},
		{"POST", "/api/v1/namespaces/ns/secrets", "create secrets"},
		{"PUT", "/api/v1/namespaces/ns/serviceaccounts/default", "update serviceaccounts"},
		{"PATCH", "/apis/route.openshift.io/v1/namespaces/ns/routes/r", "patch routes"},
		{"PUT", "/apis/route.openshift.io/v1/namespaces/ns/routes/r/status", "update routes/status"},
		{"DELETE", "/api/v1/namespaces/ns/secrets/x", "delete secrets"},
		{"DELETE", "/api/v1/namespaces/ns/secrets", "deletecollection secrets"},
		{"GET", "/api/v1/namespaces/ns", "get namespaces"},
		{"GET", "/apis/config.openshift.io/v1/clusterversions", "list clusterversions"},
		{"GET", "/apis", "get /apis"},
		{"GET", "/version", "get /version"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, "https://127.0.0.1:6443"+tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := requestKey(req); got != tt.want {
			t.Errorf("requestKey(%s %s) = %q, want %q", tt.method, tt.url, got, tt.want)
		}
	}
}

func TestNamespacePrefix(t *testing.T) {
	tests := map[string]string{
		"TestSecret":                   "t-testsecret-",
		"TestCopy/to_two_namespaces":   "t-testcopy-to-two-namespaces-",
		"Test__Odd--Name/#01":          "t-test-odd-name-01-",
		strings.Repeat("TestLong", 20): "t-" + strings.Repeat("testlong", 20)[:48] + "-",
	}
	for name, want := range tests {
		if got := namespacePrefix(name); got != want {
			t.Errorf("namespacePrefix(%q) = %q, want %q", name, got, want)
		}
		if n := len(namespacePrefix(name)) + 5; n > 63 {
			t.Errorf("namespacePrefix(%q) leaves a %d-character name", name, n)
		}
	}
}

func TestKubernetesVersion(t *testing.T) {
	tests := map[string]string{
		"single": "module x\n\nrequire k8s.io/kubernetes v1.37.2\n",
		"block":  "module x\n\nrequire (\n\tk8s.io/api v0.37.2\n\tk8s.io/kubernetes v1.37.2\n)\n",
	}
	for name, content := range tests {
		p := filepath.Join(t.TempDir(), "go.mod")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := kubernetesVersion(p)
		if err != nil || got != "1.37.2" {
			t.Errorf("%s: kubernetesVersion = %q, %v; want 1.37.2", name, got, err)
		}
	}
	// The real tools module, which hack/testbin.sh reads too.
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetesVersion(filepath.Join(root, "hack", "testbin", "kube-apiserver", "go.mod")); err != nil {
		t.Error(err)
	}
}
