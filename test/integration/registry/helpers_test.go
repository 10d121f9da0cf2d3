package registry_test

import "k8s.io/apimachinery/pkg/types"

func typesName(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}
