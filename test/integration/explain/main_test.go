// Package explain_test runs pullsecret.Explain against a real kube-apiserver
// + etcd (see test/integration/harness): secrets as the API server validates
// them (a kubernetes.io/dockerconfigjson secret must carry valid JSON under
// .dockerconfigjson, so "wrong key" and "not JSON" cannot be stored, while a
// bad auth value can), pods as admission leaves them, and the least RBAC
// Explain needs.
//
//	cd test/integration && go test ./explain/
package explain_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
