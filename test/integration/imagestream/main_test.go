// Package imagestream_test runs imagestream.Tag, Untag and WaitForImport
// against a real kube-apiserver serving the test-only ImageStream CRD (no
// import controller: the tests write status.tags themselves, as the
// importer would) with real optimistic concurrency and watches.
package imagestream_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
