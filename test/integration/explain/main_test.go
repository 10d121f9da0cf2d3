// Package explain_test runs pullsecret.Explain against a real kube-apiserver
// + etcd (see test/integration/harness): secrets as the API server validates
// them (a kubernetes.io/dockerconfigjson secret must carry JSON that decodes
// into an object, or null, under .dockerconfigjson, so "wrong key", "not
// JSON" and an array document cannot be stored, while a bad auth value, a
// null entry or capitalised field names can), stringData as the server
// moves it into data, pods as admission leaves them (a secret listed twice
// included), and the least RBAC Explain needs.
//
//	cd test/integration && go test ./explain/
package explain_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
