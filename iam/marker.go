package iam

import "strings"

// Marker ends the description of every service ID and API key that
// registrykit's workflows create, so that they can be told apart from
// objects made by people or other tools: key pruning and teardown delete
// only marked keys unless told otherwise. IAM keeps descriptions as given
// and lists them with every key and service ID, so no extra request is
// needed to read the mark.
const Marker = "[registrykit]"

// Mark returns description with Marker appended (once).
func Mark(description string) string {
	if IsMarked(description) {
		return description
	}
	if description == "" {
		return Marker
	}
	return description + " " + Marker
}

// IsMarked reports whether description ends with Marker.
func IsMarked(description string) bool {
	return strings.HasSuffix(strings.TrimSpace(description), Marker)
}
