#!/usr/bin/env bash
# Copies the OpenShift CRDs the integration tier installs from the
# github.com/openshift/api version pinned in the root go.mod (read from the
# Go module cache) into test/crds/. The copies are committed so tests never
# depend on this script; rerun it after bumping github.com/openshift/api.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mod=github.com/openshift/api
go mod download "$mod"
dir="$(go list -m -f '{{.Dir}}' "$mod")"
version="$(go list -m -f '{{.Version}}' "$mod")"
[[ -d "$dir" ]] || { echo "update-crds: $mod not in the module cache" >&2; exit 1; }

# source path inside the module -> file name under test/crds
copies=(
	"route/v1/zz_generated.crd-manifests/routes.crd.yaml:route.openshift.io_routes.yaml"
	"imageregistry/v1/zz_generated.crd-manifests/00_configs.crd.yaml:imageregistry.operator.openshift.io_configs.yaml"
)
for c in "${copies[@]}"; do
	src="$dir/${c%%:*}"
	dst="test/crds/${c##*:}"
	[[ -f "$src" ]] || { echo "update-crds: $mod@$version has no ${c%%:*}" >&2; exit 1; }
	{
		echo "# Copied by hack/update-crds.sh from $mod@$version ${c%%:*}. Do not edit."
		cat "$src"
	} >"$dst"
	echo "wrote $dst"
done
