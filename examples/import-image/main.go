// Command import-image puts an IBM Cloud Container Registry image into an
// OpenShift image stream, like the guide's
//
//	oc tag us.icr.io/<namespace>/<image>:<tag> <project>/<stream>:<tag> --reference-policy=local --scheduled
//
// with registry.ImportImage (imagestream.Tag, then a wait for the import),
// and prints the imported digest.
//
//	go run ./examples/import-image                       # embedded; demo us.icr.io/ns/app:1 → team-a/app:1
//	go run ./examples/import-image --from us.icr.io/ns/app:1 --to team-a/app:1 --scheduled --reference-policy local
//	KUBECONFIG=~/.kube/config go run ./examples/import-image --from us.icr.io/ns/app:1 --to team-a/app:1 --dry-run
//
// The project needs a pull secret for the source registry (see
// examples/pull-secret-apply and examples/copy-pull-secret); without one the
// import fails and the program prints the server's reason. In embedded mode
// the project first gets all-icr-io (ApplyClusterPullSecret, then
// CopyICRSecret), and, since no OpenShift image import controller runs
// there, a clearly labelled stand-in plays it: it imports a tag when the
// project holds a pull secret matching the source registry (it contacts no
// registry; the digest is made up from the reference) and otherwise reports
// the import failed as Unauthorized. This program makes no IBM Cloud call on
// a real cluster, so only a kubeconfig is needed there.
package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/imagestream"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("import-image", run) }

const (
	demoFrom = "us.icr.io/ns/app:1"
	demoTo   = "team-a/app:1"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("import-image", stderr)
	common.KubernetesOnly = true
	from := fs.String("from", "", "source image with its registry host, e.g. us.icr.io/ns/app:1")
	to := fs.String("to", "", "destination image stream tag <project>/<stream>[:<tag>] (tag default latest)")
	scheduled := fs.Bool("scheduled", false, "re-import periodically (oc tag --scheduled)")
	policy := fs.String("reference-policy", "source", "source (pull from the original registry) or local (pull through the internal registry)")
	insecure := fs.Bool("insecure", false, "allow HTTP or unverified TLS (oc tag --insecure)")
	importMode := fs.String("import-mode", "", "Legacy or PreserveOriginal; empty leaves it to the cluster")
	timeout := fs.Duration("timeout", registry.DefaultWaitTimeout, "how long to wait for the import")
	noWait := fs.Bool("no-wait", false, "tag only; do not wait for the import")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}
	var refPolicy imagestream.ReferencePolicy
	switch strings.ToLower(*policy) {
	case "source":
		refPolicy = imagestream.SourcePolicy
	case "local":
		refPolicy = imagestream.LocalPolicy
	default:
		return fmt.Errorf("--reference-policy %q: want source or local", *policy)
	}
	dest, err := parseRef(orDefault(*to, demoTo))
	if err != nil {
		return err
	}

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, exampleenv.Projects(nil, dest.Namespace)...)
	if err != nil {
		return err
	}
	defer env.Close()
	source, err := env.FlagOrDemo("from", *from, demoFrom, true)
	if err != nil {
		return err
	}
	if _, err := env.FlagOrDemo("to", *to, demoTo, true); err != nil {
		return err
	}
	if env.Embedded {
		if err := env.SeedICRSecret(ctx, "c0ffee0example", []string{dest.Namespace}); err != nil {
			return err
		}
		env.StandInImporter(ctx)
		env.Printf("  (embedded: no image import controller runs here; a stand-in imports tags whose project has a matching pull secret, with a made-up digest)\n")
	}

	env.Printf("\nImport %s into %s (reference policy %s, scheduled %t)\n", source, dest, refPolicy, *scheduled)
	digest, rep, err := registry.ImportImage(ctx, env.Cluster, source, dest, registry.ImportOptions{
		ReferencePolicy: refPolicy, Scheduled: *scheduled, Insecure: *insecure, ImportMode: imagestream.ImportMode(*importMode),
		Timeout: *timeout, NoWait: *noWait,
		WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
	})
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	switch {
	case env.DryRun:
		env.Printf("\nDry run: nothing was changed.\n")
	case digest == "":
		env.Printf("\nTagged %s; the import was not waited for.\n", dest)
	default:
		env.Printf("\nImported %s as %s@%s.\n", source, dest, digest)
	}
	return nil
}

// parseRef parses <project>/<stream>[:<tag>].
func parseRef(s string) (imagestream.Ref, error) {
	ns, rest, ok := strings.Cut(s, "/")
	if !ok || ns == "" || rest == "" {
		return imagestream.Ref{}, fmt.Errorf("--to %q: want <project>/<stream>[:<tag>]", s)
	}
	stream, tag, _ := strings.Cut(rest, ":")
	ref := imagestream.Ref{Namespace: ns, Stream: stream, Tag: orDefault(tag, "latest")}
	if err := registrykit.Invalid("--to", ref.Validate(nil)); err != nil {
		return ref, fmt.Errorf("--to %q: %w", s, err)
	}
	return ref, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
