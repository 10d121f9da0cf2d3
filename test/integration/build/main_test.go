// Package build_test runs build.LinkBuilder against a real kube-apiserver
// (real optimistic concurrency on service accounts) and build.SetSecrets
// against the test-only BuildConfig CRD.
package build_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
