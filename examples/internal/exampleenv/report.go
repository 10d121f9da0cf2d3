package exampleenv

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

// PrintReport prints every step of a workflow's Report with Step: what kind
// of object, which one, the action (with the skip reason of a skipped step)
// and its reason — for a failed step, its error (which never contains a
// credential). A dry-run step whose reason does not say so is marked
// "[dry run]". Steps whose skip needs attention (Report.Warnings) are
// repeated after the others as "warning:" lines.
func (e *Env) PrintReport(r registry.Report) {
	for _, s := range r.Steps {
		reason := s.Reason
		if s.Err != nil {
			reason = s.Err.Error()
		}
		if s.DryRun && !strings.Contains(reason, "dry run") {
			reason = strings.TrimSpace(reason + " [dry run]")
		}
		action := string(s.Action)
		if s.Skip != "" {
			action += " [" + string(s.Skip) + "]"
		}
		e.Step(s.Name, s.Object, action, reason)
	}
	for _, s := range r.Warnings() {
		e.Printf("  warning: %s %s was %s [%s]\n", s.Name, s.Object, s.Action, s.Skip)
	}
}

// PrintCounts prints one line that sums a Report up, e.g.
// "  result: 3 created, 12 unchanged".
func (e *Env) PrintCounts(r registry.Report) {
	counts := r.Counts()
	actions := slices.Sorted(maps.Keys(counts))
	parts := make([]string, 0, len(actions))
	for _, a := range actions {
		parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
	}
	e.Printf("  result: %s\n", strings.Join(parts, ", "))
}

// FlagOrDemo returns value when it is set. Otherwise, in embedded mode, it
// returns demo and prints that it did; on a real cluster it returns an
// error naming the flag when required is true, else "". Demo values never
// reach a real cluster or IBM Cloud account.
func (e *Env) FlagOrDemo(flag, value, demo string, required bool) (string, error) {
	switch {
	case value != "":
		return value, nil
	case e.Embedded:
		e.Printf("  (embedded: --%s not given, using the demo value %s)\n", flag, demo)
		return demo, nil
	case required:
		return "", fmt.Errorf("--%s is required with a real cluster", flag)
	}
	return "", nil
}

// SeedICRSecret prepares the embedded cluster the way a real one would
// already be: registry.ApplyClusterPullSecret for clusterID (service ID,
// Reader policies, API key, default/all-icr-io), then, when projects are
// given, registry.CopyICRSecret into them. It prints every step under a
// heading that says this is embedded setup, and always writes (it ignores
// --dry-run: the setup is not what the program demonstrates). On a real
// cluster it does nothing.
func (e *Env) SeedICRSecret(ctx context.Context, clusterID string, projects []string) error {
	if !e.Embedded {
		return nil
	}
	e.Printf("\nEmbedded setup (a real cluster would already have this): all-icr-io via ApplyClusterPullSecret")
	if len(projects) > 0 {
		e.Printf(", copied to %s", strings.Join(projects, ", "))
	}
	e.Printf("\n")
	rep, err := registry.ApplyClusterPullSecret(ctx, e.Cluster, e.IAM, registry.ApplyOptions{ClusterID: clusterID, WriteOptions: registrykit.WriteOptions{Logger: e.Logger}})
	e.PrintReport(rep)
	if err != nil {
		return fmt.Errorf("embedded setup: %w", err)
	}
	if len(projects) == 0 {
		return nil
	}
	rep, err = registry.CopyICRSecret(ctx, e.Cluster, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: projects}, WriteOptions: registrykit.WriteOptions{Logger: e.Logger}})
	e.PrintReport(rep)
	if err != nil {
		return fmt.Errorf("embedded setup: %w", err)
	}
	return nil
}

// SplitList splits a comma-separated flag value, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
