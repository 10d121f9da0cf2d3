// Package redact removes credentials from user input before it is echoed
// into an error, a field error's value or a String. Server names, hosts and
// image references can carry userinfo ("user:pass@host"); what is left is
// still enough to name the input.
package redact

import (
	"regexp"
	"strings"
)

// digest is what follows the '@' of a digest reference.
var digest = regexp.MustCompile(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$`)

// Placeholder replaces whatever was removed.
const Placeholder = "REDACTED"

// Userinfo returns s with any userinfo before a host replaced by
// Placeholder: "https://u:pw@host/x" → "https://REDACTED@host/x",
// "u:pw@host" → "REDACTED@host". The '@' of a digest ("img@sha256:…") is not
// userinfo: only an '@' before the first '/' of the authority counts.
func Userinfo(s string) string {
	rest := s
	prefix := ""
	if i := strings.Index(rest, "://"); i >= 0 {
		prefix, rest = rest[:i+3], rest[i+3:]
	}
	authority := rest
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 || digest.MatchString(rest[at+1:]) {
		return s
	}
	return prefix + Placeholder + rest[at:]
}
