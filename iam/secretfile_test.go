package iam_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/registrykit/registrykit/iam"
)

func TestReadSecretFile(t *testing.T) {
	const key = "SENTINEL-key-in-a-file"
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s, err := iam.ReadSecretFile(write("key", "  "+key+"\n"))
	if err != nil || s.Reveal() != key {
		t.Errorf("ReadSecretFile: got a %d-byte secret, err %v; want the trimmed key", len(s.Reveal()), err)
	}
	for name, path := range map[string]string{
		"empty":   write("empty", " \n"),
		"missing": filepath.Join(dir, "missing"),
	} {
		_, err := iam.ReadSecretFile(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
	big := write("big", strings.Repeat("k", iam.MaxSecretFileSize+10))
	if s, err := iam.ReadSecretFile(big); err != nil || len(s.Reveal()) != iam.MaxSecretFileSize {
		t.Errorf("large file: %d bytes, err %v; want %d", len(s.Reveal()), err, iam.MaxSecretFileSize)
	}
}

func TestTrustedProfileOptionsWithProfile(t *testing.T) {
	base := iam.TrustedProfileOptions{ProfileName: "old", CRTokenFile: "/f"}
	for p, want := range map[string]iam.TrustedProfileOptions{
		"Profile-1234":                   {ProfileID: "Profile-1234", CRTokenFile: "/f"},
		" crn:v1:bluemix:public:iam::x ": {ProfileCRN: "crn:v1:bluemix:public:iam::x", CRTokenFile: "/f"},
		"puller":                         {ProfileName: "puller", CRTokenFile: "/f"},
	} {
		got := base.WithProfile(p)
		if got.ProfileID != want.ProfileID || got.ProfileCRN != want.ProfileCRN || got.ProfileName != want.ProfileName || got.CRTokenFile != "/f" {
			t.Errorf("WithProfile(%q) = id %q crn %q name %q", p, got.ProfileID, got.ProfileCRN, got.ProfileName)
		}
	}
}
