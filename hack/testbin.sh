#!/usr/bin/env bash
# Builds the integration tier's kube-apiserver and etcd from source (Go
# module proxy only, no prebuilt downloads) into bin/, keyed by version, and
# prints the folder to use as KUBEBUILDER_ASSETS:
#
#   bin/k8s/<kubernetes version>/kube-apiserver
#   bin/k8s/<kubernetes version>/etcd -> ../../etcd/<etcd version>/etcd
#   bin/etcd/<etcd version>/etcd
#
# Versions come from hack/testbin/kube-apiserver/go.mod (k8s.io/kubernetes)
# and hack/testbin/etcd/go.mod (go.etcd.io/etcd/server/v3). A binary that
# is already there is not rebuilt. First build: see test/README.md.
#
# Usage: KUBEBUILDER_ASSETS="$(hack/testbin.sh)"   (progress goes to stderr)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/hack/testbin"

# version <go.mod> <module>: the required version of module in go.mod.
version() {
	awk -v m="$2" '$1 == "require" && $2 == m { print $3; exit } $1 == m { print $2; exit }' "$1"
}

k8s="$(version "$tools/kube-apiserver/go.mod" k8s.io/kubernetes)"
etcd="$(version "$tools/etcd/go.mod" go.etcd.io/etcd/server/v3)"
[[ -n "$k8s" && -n "$etcd" ]] || { echo "testbin: cannot read versions from $tools/*/go.mod" >&2; exit 1; }

assets="$root/bin/k8s/${k8s#v}"
etcd_bin="$root/bin/etcd/${etcd#v}/etcd"

# build <module dir> <output> <package> [go build flags...]: builds into a
# temporary file first so an interrupted build never looks finished.
build() {
	local dir="$1" out="$2" pkg="$3"
	shift 3
	if [[ -x "$out" ]]; then
		echo "testbin: $out is there, skipping build" >&2
		return
	fi
	echo "testbin: building $out (first time only; takes minutes)" >&2
	mkdir -p "$(dirname "$out")"
	local start=$SECONDS
	(cd "$dir" && CGO_ENABLED=0 go build -trimpath "$@" -o "$out.tmp" "$pkg") >&2
	mv "$out.tmp" "$out"
	echo "testbin: built $out in $((SECONDS - start))s" >&2
}

kv="k8s.io/component-base/version"
major="${k8s#v}"; major="${major%%.*}"
minor="${k8s#v*.}"; minor="${minor%%.*}"
build "$tools/kube-apiserver" "$assets/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver \
	-ldflags "-X $kv.gitVersion=$k8s -X $kv.gitMajor=$major -X $kv.gitMinor=$minor -X $kv.gitTreeState=clean"
build "$tools/etcd" "$etcd_bin" .

# envtest wants both binaries in one folder.
ln -sfn "../../etcd/${etcd#v}/etcd" "$assets/etcd"

echo "$assets"
