// Package rbac_test runs every operation of rbac.Operations() on a real
// API server as a user bound to exactly rbac.RulesFor(op) (plus the
// conditional rules of the case each scenario exercises), then once per
// verb with that verb removed, and checks that the operation then fails
// with a Forbidden error naming the verb and the resource.
//
//	cd test/integration && KUBEBUILDER_ASSETS=$(../../hack/testbin.sh) go test ./rbac/
package rbac_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
