package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
	"github.com/registrykit/registrykit/imagestream"
)

func digestOf(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestImportEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run, "--from", "us.icr.io/ns/app:1", "--to", "team-a/app:1", "--scheduled", "--reference-policy", "local")
	r.Steps(t,
		"Embedded setup", "secret                             team-a/all-icr-io                          created",
		"a stand-in imports tags whose project has a matching pull secret",
		"Import us.icr.io/ns/app:1 into team-a/app:1 (reference policy Local, scheduled true)",
		"image stream tag                   team-a/app:1                               created",
		"import                             team-a/app:1                               unchanged (imported "+digestOf("us.icr.io/ns/app:1")+")",
		"Imported us.icr.io/ns/app:1 as team-a/app:1@"+digestOf("us.icr.io/ns/app:1"),
	)
	tag := specTag(t, r, "team-a", "app", "1")
	if tag.From.Name != "us.icr.io/ns/app:1" || !tag.ImportPolicy.Scheduled || tag.ReferencePolicy.Type != imagev1.LocalTagReferencePolicy {
		t.Errorf("spec tag = from %s, scheduled %t, policy %s", tag.From.Name, tag.ImportPolicy.Scheduled, tag.ReferencePolicy.Type)
	}
}

func TestImportDemoAndDryRun(t *testing.T) {
	r := exampletest.Embedded(t, run)
	r.Steps(t, "--from not given, using the demo value us.icr.io/ns/app:1", "--to not given, using the demo value team-a/app:1", "Imported us.icr.io/ns/app:1")

	r = exampletest.Embedded(t, run, "--dry-run")
	r.Steps(t, "image stream tag                   team-a/app:1                               created", "import                             team-a/app:1                               skipped [dry-run] (dry run: nothing to wait for", "Dry run: nothing was changed.")
	if _, err := r.Env.Cluster.Images.ImageV1().ImageStreams("team-a").Get(t.Context(), "app", metav1.GetOptions{}); err == nil {
		t.Error("dry run stored the image stream")
	}
}

func TestImportErrors(t *testing.T) {
	t.Run("no pull secret for the source registry", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--from", "quay.io/x/app:2", "--to", "team-b/app")
		var ie *imagestream.ImportError
		if !errors.Is(r.Err, imagestream.ErrImportFailed) || !errors.As(r.Err, &ie) || ie.Reason != "Unauthorized" {
			t.Fatalf("err = %v, want an Unauthorized ImportError", r.Err)
		}
		r.Steps(t, "import                             team-b/app:latest                          failed (import of team-b/app:latest failed: Unauthorized: embedded stand-in: no pull secret in team-b matches quay.io/x/app:2)")
		r.NoSecrets(t)
	})
	for _, tc := range []struct {
		name, want string
		getenv     func(string) string
		args       []string
	}{
		{"source without registry host", "a registry host is required", exampletest.NoEnv, []string{"--from", "ns/app:1"}},
		{"destination without project", `--to "app:1": want <project>/<stream>[:<tag>]`, exampletest.NoEnv, []string{"--to", "app:1"}},
		{"bad reference policy", `--reference-policy "mirror": want source or local`, exampletest.NoEnv, []string{"--reference-policy", "mirror"}},
		{"no source on a real cluster", "--from is required", exampletest.Getenv(map[string]string{exampleenv.EnvKubeconfig: exampletest.Kubeconfig(t)}), []string{"--to", "a/b:c"}},
		{"unknown flag", "flag provided but not defined: -alias", exampletest.NoEnv, []string{"--alias"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exampletest.Run(t, run, tc.getenv, tc.args...)
			if r.Err == nil || !strings.Contains(r.Err.Error()+r.Stderr, tc.want) {
				t.Fatalf("err = %v, stderr %q; want %q", r.Err, r.Stderr, tc.want)
			}
		})
	}
}

func specTag(t *testing.T, r *exampletest.Result, ns, stream, tag string) imagev1.TagReference {
	t.Helper()
	is, err := r.Env.Cluster.Images.ImageV1().ImageStreams(ns).Get(t.Context(), stream, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range is.Spec.Tags {
		if st.Name == tag && st.From != nil {
			return st
		}
	}
	t.Fatalf("no spec tag %s in %s/%s", tag, ns, stream)
	return imagev1.TagReference{}
}
