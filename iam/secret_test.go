package iam_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/registrykit/registrykit/iam"
)

func TestSecretNeverPrints(t *testing.T) {
	const raw = "s3cr3t-VALUE-0123456789"
	s := iam.NewSecret(raw)
	key := iam.APIKey{ID: "ApiKey-1", Value: s}
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T", "%10s", "%d"} {
		outputs["secret "+verb] = fmt.Sprintf(verb, s)
		outputs["struct "+verb] = fmt.Sprintf(verb, key)
		outputs["pointer "+verb] = fmt.Sprintf(verb, &key)
	}
	outputs["String"] = s.String()
	outputs["GoString"] = s.GoString()
	outputs["Sprint"] = fmt.Sprint(s, key)
	outputs["Sprintln"] = fmt.Sprintln(s, key)
	j, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", s, "key", key)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "secret", s, "key", key)
	outputs["slog"] = logs.String()

	for name, out := range outputs {
		if strings.Contains(out, raw) || strings.Contains(out, fmt.Sprintf("%x", raw)) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
	if got := s.Reveal(); got != raw {
		t.Errorf("Reveal() = %q, want the value", got)
	}
	if got, want := fmt.Sprint(s), "[REDACTED]"; got != want {
		t.Errorf("Sprint = %q, want %q", got, want)
	}
	if !strings.Contains(outputs["json"], `"Value":"[REDACTED]"`) {
		t.Errorf("json = %s, want Value redacted", outputs["json"])
	}
}

func TestSecretZero(t *testing.T) {
	var s iam.Secret
	if !s.IsZero() || s.String() != "" || s.Reveal() != "" {
		t.Errorf("zero Secret: IsZero=%v String=%q Reveal=%q", s.IsZero(), s.String(), s.Reveal())
	}
	a, b := iam.NewSecret("a"), iam.NewSecret("a")
	if a != b {
		t.Error("equal secrets compare unequal")
	}
}
