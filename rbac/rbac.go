// Package rbac holds the least-privilege RBAC rules of every operation of
// this module that calls the Kubernetes API. Operations are named by string
// ("<package>.<Function>"), so this package depends on none of the packages
// whose operations it describes beyond the constants it shares with them.
package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/route"
)

// Operation names an exported function of this module that calls the
// Kubernetes API, as "<package>.<Function>".
type Operation string

// Every operation RulesFor knows. Operations returns them in this order.
const (
	OpApply                    Operation = "pullsecret.Apply"
	OpCopy                     Operation = "pullsecret.Copy"
	OpAttachToServiceAccount   Operation = "pullsecret.AttachToServiceAccount"
	OpAttachToServiceAccounts  Operation = "pullsecret.AttachToServiceAccounts"
	OpLink                     Operation = "pullsecret.Link"
	OpMergeGlobal              Operation = "pullsecret.MergeGlobal"
	OpRemoveFromGlobal         Operation = "pullsecret.RemoveFromGlobal"
	OpInternalRegistrySecret   Operation = "pullsecret.InternalRegistrySecret"
	OpAudit                    Operation = "pullsecret.Audit"
	OpExplain                  Operation = "pullsecret.Explain"
	OpFindRegistryService      Operation = "route.FindRegistryService"
	OpExposeRegistry           Operation = "route.ExposeRegistry"
	OpWaitForHost              Operation = "route.WaitForHost"
	OpEnableDefaultRoute       Operation = "route.EnableDefaultRoute"
	OpTag                      Operation = "imagestream.Tag"
	OpUntag                    Operation = "imagestream.Untag"
	OpWaitForImport            Operation = "imagestream.WaitForImport"
	OpLinkBuilder              Operation = "build.LinkBuilder"
	OpSetSecrets               Operation = "build.SetSecrets"
	OpCheckBuildConfig         Operation = "build.CheckBuildConfig"
	OpDetectInternal           Operation = "registry.DetectInternal"
	OpStorage                  Operation = "registry.Storage"
	OpApplyClusterPullSecret   Operation = "registry.ApplyClusterPullSecret"
	OpProjectCredentials       Operation = "registry.ProjectCredentials"
	OpCopyICRSecret            Operation = "registry.CopyICRSecret"
	OpEntitledRegistry         Operation = "registry.EntitledRegistry"
	OpExposeInternalRegistry   Operation = "registry.ExposeInternalRegistry"
	OpBuildPushSecret          Operation = "registry.BuildPushSecret"
	OpImportImage              Operation = "registry.ImportImage"
	OpRotateAPIKey             Operation = "registry.RotateAPIKey"
	OpRemoveClusterPullSecret  Operation = "registry.RemoveClusterPullSecret"
	OpRemoveProjectCredentials Operation = "registry.RemoveProjectCredentials"
)

// Scope says in which namespaces a namespaced rule must be granted (a Role
// and RoleBinding in each).
type Scope string

// The scopes of namespaced rules.
const (
	// ScopeTarget: each namespace the operation works in — its namespace
	// argument (Apply, Tag, SetSecrets, ...), the namespace option of a
	// workflow (ApplyOptions.Namespace, default "default";
	// ProjectOptions.Project; ...), every target namespace (Copy,
	// AttachToServiceAccounts, CopyICRSecret, the Projects of
	// ExposeInternalRegistry), or every namespace holding a copy that
	// RotateAPIKey updates.
	ScopeTarget Scope = "target"
	// ScopeSource: the namespace of the secret Copy and CopyICRSecret copy
	// from (CopyICROptions.From, default "default").
	ScopeSource Scope = "source"
	// ScopeOpenShiftConfig: openshift-config, home of the global pull secret.
	ScopeOpenShiftConfig Scope = pullsecret.GlobalNamespace
	// ScopeRegistry: the namespace of the integrated registry's service and
	// routes — openshift-image-registry on OpenShift 4 (ExposeOptions.Namespace
	// when set). See the 3.11 note in docs/rbac.md.
	ScopeRegistry Scope = "registry"
)

// Condition names a case in which an operation needs a rule it does not
// need otherwise.
type Condition string

// The conditions of conditional rules.
const (
	// WhenSelector: Targets.Selector or Targets.All (Copy,
	// AttachToServiceAccounts, CopyICRSecret) or RotateOptions.Selector is
	// set, so namespaces are listed.
	WhenSelector Condition = "selector"
	// WhenReplace: an existing copy has another type or is immutable, so
	// Copy deletes and re-creates it.
	WhenReplace Condition = "replace"
	// WhenUnreferenced: the service account references no
	// kubernetes.io/dockercfg secret (no openshift.io/internal-registry-
	// pull-secret-ref annotation, no <sa>-dockercfg-* entry), so
	// InternalRegistrySecret lists the namespace's dockercfg secrets.
	WhenUnreferenced Condition = "unreferenced"
	// WhenCustomHost: a route host is set (ExposeOptions.Hostname,
	// ExposeInternalOptions.Hostname) on OpenShift, whose route admission
	// requires create on routes/custom-host. Plain Kubernetes with the Route
	// CRD does not check it.
	WhenCustomHost Condition = "custom-host"
	// WhenPod: Explain's subject is a pod (Subject.Pod), which it reads.
	WhenPod Condition = "pod"
	// WhenPVC: the registry stores images on a PersistentVolumeClaim (or
	// there is no operator config), so Storage reads the claim.
	WhenPVC Condition = "pvc"
)

// ConditionalRule is a rule an operation needs only When a condition holds.
type ConditionalRule struct {
	When  Condition
	Scope Scope // empty: cluster-wide
	Rule  rbacv1.PolicyRule
}

// OptionalRule is a rule an operation never needs: without it a fallback
// runs (the Forbidden answer is expected). Benefit says what granting it
// buys.
type OptionalRule struct {
	Scope   Scope // empty: cluster-wide
	Rule    rbacv1.PolicyRule
	Benefit string
}

// Rules is the least privilege of one Operation: with exactly Cluster
// (cluster-wide) and Namespaced[scope] (in each namespace of the scope)
// granted, the operation succeeds; without any one verb of them it fails
// with a Forbidden API error. Conditional rules are needed on top in the
// case they name (Rules.With adds them); Optional ones never.
type Rules struct {
	Cluster     []rbacv1.PolicyRule
	Namespaced  map[Scope][]rbacv1.PolicyRule
	Conditional []ConditionalRule
	Optional    []OptionalRule
}

// With returns r with the conditional rules for conds moved into Cluster
// and Namespaced (merged with the rules there); the other conditional rules
// stay in Conditional.
func (r Rules) With(conds ...Condition) Rules {
	var gs []grant
	for _, p := range r.Cluster {
		gs = append(gs, fromPolicy("", p, "")...)
	}
	for s, ps := range r.Namespaced {
		for _, p := range ps {
			gs = append(gs, fromPolicy(s, p, "")...)
		}
	}
	out := Rules{Optional: r.Optional}
	for _, c := range r.Conditional {
		if slices.Contains(conds, c.When) {
			gs = append(gs, fromPolicy(c.Scope, c.Rule, "")...)
		} else {
			out.Conditional = append(out.Conditional, c)
		}
	}
	out.Cluster, out.Namespaced = splitScopes(gs)
	return out
}

// ClusterRole returns a ClusterRole holding r.Cluster, or nil if there is
// none. Bind it with a ClusterRoleBinding.
func (r Rules) ClusterRole(name string) *rbacv1.ClusterRole {
	if len(r.Cluster) == 0 {
		return nil
	}
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      slices.Clone(r.Cluster),
	}
}

// Role returns a Role in namespace holding r.Namespaced[scope], or nil if
// there is none. Create one per namespace of the scope and bind it with a
// RoleBinding.
func (r Rules) Role(name, namespace string, scope Scope) *rbacv1.Role {
	if len(r.Namespaced[scope]) == 0 {
		return nil
	}
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Rules:      slices.Clone(r.Namespaced[scope]),
	}
}

// Operations returns every operation RulesFor knows, lower packages first,
// then the registry package's functions and workflows.
func Operations() []Operation {
	return slices.Clone(operations)
}

// RulesFor returns the least-privilege rules of op. The rules of a
// workflow are the union of the rules of the operations it calls (its
// Kubernetes side; IAM is not Kubernetes RBAC). An unknown op is an error.
func RulesFor(op Operation) (Rules, error) {
	gs, err := grantsOf(op)
	if err != nil {
		return Rules{}, err
	}
	var out Rules
	var base []grant
	for _, g := range gs {
		switch {
		case g.optional != "":
			for _, p := range policies([]grant{g}) {
				out.Optional = append(out.Optional, OptionalRule{Scope: g.scope, Rule: p, Benefit: g.optional})
			}
		case g.when != "":
			for _, p := range policies([]grant{g}) {
				out.Conditional = append(out.Conditional, ConditionalRule{When: g.when, Scope: g.scope, Rule: p})
			}
		default:
			base = append(base, g)
		}
	}
	out.Cluster, out.Namespaced = splitScopes(base)
	out.Conditional = mergeConditional(out.Conditional)
	out.Optional = mergeOptional(out.Optional)
	return out, nil
}

// grant is one verb on one resource in one scope: the unit the table is
// written in and the tests remove one at a time.
type grant struct {
	scope    Scope // "" cluster-wide
	group    string
	resource string
	names    string // comma-separated resourceNames, "" for any
	verb     string
	when     Condition
	optional string // non-empty: optional, with this benefit
}

// step composes a workflow from a lower operation whose ScopeTarget means
// another scope in the workflow.
type step struct {
	op     Operation
	target Scope // what the step's ScopeTarget becomes; "" keeps it
}

type entry struct {
	grants []grant
	steps  []step
}

const (
	core          = ""
	routeGroup    = "route.openshift.io"
	imageGroup    = "image.openshift.io"
	buildGroup    = "build.openshift.io"
	operatorGroup = "imageregistry.operator.openshift.io"
)

// g builds grants for several verbs.
func g(scope Scope, group, resource string, verbs ...string) []grant {
	out := make([]grant, len(verbs))
	for i, v := range verbs {
		out[i] = grant{scope: scope, group: group, resource: resource, verb: v}
	}
	return out
}

func named(names string, gs []grant) []grant {
	for i := range gs {
		gs[i].names = names
	}
	return gs
}

func when(c Condition, gs []grant) []grant {
	for i := range gs {
		gs[i].when = c
	}
	return gs
}

func optional(benefit string, gs []grant) []grant {
	for i := range gs {
		gs[i].optional = benefit
	}
	return gs
}

func all(parts ...[]grant) []grant { return slices.Concat(parts...) }

const (
	benefitListCopies = "with more than 16 targets (pullsecret.DirectReadTargets), reads the existing copies' metadata with one cluster-wide List instead of one GET per target namespace"
	benefitListSAs    = "reads every service account with one cluster-wide List instead of one GET per namespace"
	benefitWatch      = "wakes up on the change instead of polling with GET every 5 s"
	benefitPruneKeys  = "deletes the API keys of the service ID that registrykit made and no pull secret holds any more (key pruning); without it they are kept, with a warning"
	benefitISTag      = "on OpenShift, deletes the ImageStreamTag (spec and status history); without it Untag removes the spec tag only"
)

var operations = []Operation{
	OpApply, OpCopy, OpAttachToServiceAccount, OpAttachToServiceAccounts, OpLink,
	OpMergeGlobal, OpRemoveFromGlobal, OpInternalRegistrySecret, OpAudit, OpExplain,
	OpFindRegistryService, OpExposeRegistry, OpWaitForHost, OpEnableDefaultRoute,
	OpTag, OpUntag, OpWaitForImport,
	OpLinkBuilder, OpSetSecrets, OpCheckBuildConfig,
	OpDetectInternal, OpStorage,
	OpApplyClusterPullSecret, OpProjectCredentials, OpCopyICRSecret, OpEntitledRegistry,
	OpExposeInternalRegistry, OpBuildPushSecret, OpImportImage, OpRotateAPIKey,
	OpRemoveClusterPullSecret, OpRemoveProjectCredentials,
}

// table is the single source of the rules: RulesFor, Table, docs/rbac.md
// and the integration tests all read it.
var table = map[Operation]entry{
	// Get; Create if missing, else Update if the content differs.
	OpApply: {grants: g(ScopeTarget, core, "secrets", "get", "create", "update")},
	// Get the source; resolve targets; read the targets (one cluster-wide
	// List, or a Get per target without it); Create where none exists,
	// else Update (or Delete + Create to change the type).
	OpCopy: {grants: all(
		g(ScopeSource, core, "secrets", "get"),
		g(ScopeTarget, core, "secrets", "get", "create", "update"),
		when(WhenReplace, g(ScopeTarget, core, "secrets", "delete")),
		when(WhenSelector, g("", core, "namespaces", "list")),
		optional(benefitListCopies, g("", core, "secrets", "list")),
	)},
	OpAttachToServiceAccount: {grants: g(ScopeTarget, core, "serviceaccounts", "get", "update")},
	OpAttachToServiceAccounts: {grants: all(
		g(ScopeTarget, core, "serviceaccounts", "get", "update"),
		when(WhenSelector, g("", core, "namespaces", "list")),
		optional(benefitListSAs, g("", core, "serviceaccounts", "list")),
	)},
	OpLink:             {grants: g(ScopeTarget, core, "serviceaccounts", "get", "update")},
	OpMergeGlobal:      {grants: named(pullsecret.GlobalName, g(ScopeOpenShiftConfig, core, "secrets", "get", "update"))},
	OpRemoveFromGlobal: {grants: named(pullsecret.GlobalName, g(ScopeOpenShiftConfig, core, "secrets", "get", "update"))},
	// Get the service account and the secrets it references; list the
	// dockercfg secrets if it references none; then Apply.
	OpInternalRegistrySecret: {
		grants: all(
			g(ScopeTarget, core, "serviceaccounts", "get"),
			when(WhenUnreferenced, g(ScopeTarget, core, "secrets", "list")),
		),
		steps: []step{{op: OpApply}},
	},
	OpAudit: {grants: all(
		g(ScopeTarget, core, "serviceaccounts", "list"),
		g(ScopeTarget, core, "secrets", "list"),
		g(ScopeTarget, core, "pods", "list"),
	)},
	// Get the pod (if the subject is one), its service account and each
	// referenced secret.
	OpExplain: {grants: all(
		g(ScopeTarget, core, "secrets", "get"),
		g(ScopeTarget, core, "serviceaccounts", "get"),
		when(WhenPod, g(ScopeTarget, core, "pods", "get")),
	)},
	OpFindRegistryService: {grants: g(ScopeRegistry, core, "services", "get")},
	OpExposeRegistry: {
		grants: all(
			g(ScopeRegistry, routeGroup, "routes", "get", "create", "update"),
			when(WhenCustomHost, g(ScopeRegistry, routeGroup, "routes/custom-host", "create")),
		),
		steps: []step{{op: OpFindRegistryService}},
	},
	OpWaitForHost: {grants: all(
		g(ScopeTarget, routeGroup, "routes", "get"),
		optional(benefitWatch, g(ScopeTarget, routeGroup, "routes", "watch")),
	)},
	OpEnableDefaultRoute: {
		grants: named(route.OperatorConfigName, g("", operatorGroup, "configs", "get", "update")),
		steps:  []step{{op: OpWaitForHost, target: ScopeRegistry}},
	},
	OpTag: {grants: g(ScopeTarget, imageGroup, "imagestreams", "get", "create", "update")},
	OpUntag: {grants: all(
		g(ScopeTarget, imageGroup, "imagestreams", "get", "update"),
		optional(benefitISTag, g(ScopeTarget, imageGroup, "imagestreamtags", "delete")),
	)},
	OpWaitForImport: {grants: all(
		g(ScopeTarget, imageGroup, "imagestreams", "get"),
		optional(benefitWatch, g(ScopeTarget, imageGroup, "imagestreams", "watch")),
	)},
	OpLinkBuilder: {grants: all(
		g(ScopeTarget, core, "secrets", "get"),
		g(ScopeTarget, core, "serviceaccounts", "get", "update"),
	)},
	OpSetSecrets:       {grants: g(ScopeTarget, buildGroup, "buildconfigs", "get", "update")},
	OpCheckBuildConfig: {grants: g(ScopeTarget, buildGroup, "buildconfigs", "get")},
	OpDetectInternal:   {steps: []step{{op: OpFindRegistryService}}},
	OpStorage: {grants: all(
		named(route.OperatorConfigName, g("", operatorGroup, "configs", "get")),
		when(WhenPVC, g(ScopeRegistry, core, "persistentvolumeclaims", "get")),
	)},

	// Workflows: the union of their steps. Provisioning reads the pull
	// secrets of both types cluster-wide (a List per type) before it deletes
	// an unused key.
	OpApplyClusterPullSecret: {grants: optional(benefitPruneKeys, g("", core, "secrets", "list")), steps: []step{{op: OpApply}, {op: OpAttachToServiceAccount}}},
	OpProjectCredentials:     {grants: optional(benefitPruneKeys, g("", core, "secrets", "list")), steps: []step{{op: OpApply}, {op: OpAttachToServiceAccount}}},
	OpEntitledRegistry:       {steps: []step{{op: OpApply}, {op: OpAttachToServiceAccount}}},
	OpCopyICRSecret:          {steps: []step{{op: OpCopy}, {op: OpAttachToServiceAccounts}}},
	OpExposeInternalRegistry: {steps: []step{
		{op: OpExposeRegistry}, {op: OpWaitForHost, target: ScopeRegistry},
		{op: OpInternalRegistrySecret}, {op: OpAttachToServiceAccount},
	}},
	OpBuildPushSecret: {grants: optional(benefitPruneKeys, g("", core, "secrets", "list")), steps: []step{{op: OpCheckBuildConfig}, {op: OpApply}, {op: OpLinkBuilder}, {op: OpSetSecrets}}},
	OpImportImage:     {steps: []step{{op: OpTag}, {op: OpWaitForImport}}},
	// One cluster-wide List of the copies (twice: before and to verify),
	// then Get + Update per copy, then one cluster-wide List of the pull
	// secrets per type before an old key is deleted. It calls no lower
	// operation.
	OpRotateAPIKey: {grants: all(
		g("", core, "secrets", "list"),
		g(ScopeTarget, core, "secrets", "get", "update"),
		when(WhenSelector, g("", core, "namespaces", "list")),
	)},
	// Teardown: see teardown.
	OpRemoveClusterPullSecret:  teardown,
	OpRemoveProjectCredentials: teardown,
}

// teardown: one cluster-wide List of the secrets named like the one
// provisioned (it and its copies) and one List per pull secret type (which
// keys are still in use: required, not optional, before a key is deleted);
// per secret of ours, Get + Update of the service account, then Delete.
var teardown = entry{grants: all(
	g("", core, "secrets", "list"),
	g(ScopeTarget, core, "secrets", "delete"),
	g(ScopeTarget, core, "serviceaccounts", "get", "update"),
)}

// grantsOf flattens op's own grants and its steps', de-duplicated.
func grantsOf(op Operation) ([]grant, error) {
	e, ok := table[op]
	if !ok {
		return nil, fmt.Errorf("rbac: unknown operation %q", op)
	}
	out := slices.Clone(e.grants)
	for _, s := range e.steps {
		sub, err := grantsOf(s.op)
		if err != nil {
			return nil, fmt.Errorf("rbac: %s: %w", op, err)
		}
		for _, gr := range sub {
			if s.target != "" && gr.scope == ScopeTarget {
				gr.scope = s.target
			}
			out = append(out, gr)
		}
	}
	// A verb needed unconditionally makes the same verb's conditional or
	// optional copies redundant; a conditional one beats an optional one.
	rank := func(gr grant) int {
		switch {
		case gr.optional != "":
			return 2
		case gr.when != "":
			return 1
		}
		return 0
	}
	key := func(gr grant) grant { gr.when, gr.optional = "", ""; return gr }
	best := map[grant]int{}
	for _, gr := range out {
		k := key(gr)
		if r, seen := best[k]; !seen || rank(gr) < r {
			best[k] = rank(gr)
		}
	}
	var dedup []grant
	seen := map[grant]bool{}
	for _, gr := range out {
		if rank(gr) != best[key(gr)] || seen[gr] {
			continue
		}
		seen[gr] = true
		dedup = append(dedup, gr)
	}
	return dedup, nil
}

func splitScopes(gs []grant) ([]rbacv1.PolicyRule, map[Scope][]rbacv1.PolicyRule) {
	byScope := map[Scope][]grant{}
	for _, gr := range gs {
		byScope[gr.scope] = append(byScope[gr.scope], gr)
	}
	cluster := policies(byScope[""])
	delete(byScope, "")
	var ns map[Scope][]rbacv1.PolicyRule
	for s, sg := range byScope {
		if ns == nil {
			ns = map[Scope][]rbacv1.PolicyRule{}
		}
		ns[s] = policies(sg)
	}
	return cluster, ns
}

var verbOrder = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

func verbRank(v string) int {
	if i := slices.Index(verbOrder, v); i >= 0 {
		return i
	}
	return len(verbOrder)
}

// policies merges grants into one PolicyRule per group, resource and
// resourceNames, verbs in verbOrder, rules sorted by group, resource, names.
func policies(gs []grant) []rbacv1.PolicyRule {
	type key struct{ group, resource, names string }
	verbs := map[key][]string{}
	for _, gr := range gs {
		k := key{gr.group, gr.resource, gr.names}
		if !slices.Contains(verbs[k], gr.verb) {
			verbs[k] = append(verbs[k], gr.verb)
		}
	}
	keys := make([]key, 0, len(verbs))
	for k := range verbs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.resource, b.resource), cmp.Compare(a.names, b.names))
	})
	var out []rbacv1.PolicyRule
	for _, k := range keys {
		vs := verbs[k]
		slices.SortFunc(vs, func(a, b string) int { return cmp.Compare(verbRank(a), verbRank(b)) })
		r := rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: vs}
		if k.names != "" {
			r.ResourceNames = strings.Split(k.names, ",")
		}
		out = append(out, r)
	}
	return out
}

func fromPolicy(scope Scope, p rbacv1.PolicyRule, when Condition) []grant {
	var out []grant
	for _, gp := range p.APIGroups {
		for _, res := range p.Resources {
			for _, v := range p.Verbs {
				out = append(out, grant{scope: scope, group: gp, resource: res, names: strings.Join(p.ResourceNames, ","), verb: v, when: when})
			}
		}
	}
	return out
}

func mergeConditional(cs []ConditionalRule) []ConditionalRule {
	type key struct {
		when  Condition
		scope Scope
	}
	out := mergeGrouped(cs,
		func(c ConditionalRule) (key, Scope, rbacv1.PolicyRule, Condition) {
			return key{c.When, c.Scope}, c.Scope, c.Rule, c.When
		},
		func(k key, p rbacv1.PolicyRule) ConditionalRule {
			return ConditionalRule{When: k.when, Scope: k.scope, Rule: p}
		})
	slices.SortStableFunc(out, func(a, b ConditionalRule) int {
		return cmp.Or(cmp.Compare(a.When, b.When), cmp.Compare(a.Scope, b.Scope))
	})
	return out
}

func mergeOptional(os []OptionalRule) []OptionalRule {
	type key struct {
		benefit string
		scope   Scope
	}
	out := mergeGrouped(os,
		func(o OptionalRule) (key, Scope, rbacv1.PolicyRule, Condition) {
			return key{o.Benefit, o.Scope}, o.Scope, o.Rule, ""
		},
		func(k key, p rbacv1.PolicyRule) OptionalRule {
			return OptionalRule{Scope: k.scope, Rule: p, Benefit: k.benefit}
		})
	slices.SortStableFunc(out, func(a, b OptionalRule) int {
		return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Rule.Resources[0], b.Rule.Resources[0]))
	})
	return out
}

// mergeGrouped groups rules by the key split gives them, merges each
// group's rules into as few PolicyRules as policies makes, and rebuilds
// them with mk, groups in first-seen order.
func mergeGrouped[R any, K comparable](rs []R, split func(R) (K, Scope, rbacv1.PolicyRule, Condition), mk func(K, rbacv1.PolicyRule) R) []R {
	byKey := map[K][]grant{}
	var order []K
	for _, r := range rs {
		k, scope, rule, when := split(r)
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], fromPolicy(scope, rule, when)...)
	}
	var out []R
	for _, k := range order {
		for _, p := range policies(byKey[k]) {
			out = append(out, mk(k, p))
		}
	}
	return out
}

// Table returns the rules of every operation as a Markdown table with a
// legend: the table of docs/rbac.md, generated.
func Table() string {
	var b strings.Builder
	b.WriteString("| Operation | Cluster-wide | Namespaced (scope: rules) | Only when | Optional |\n")
	b.WriteString("|---|---|---|---|---|\n")
	type opt struct {
		benefit string
		rule    string
		ops     []string
	}
	var opts []*opt
	for _, op := range operations {
		r, err := RulesFor(op)
		if err != nil {
			fmt.Fprintf(&b, "| `%s` | %v | | | |\n", op, err) // unreachable: the tests check every operation
			continue
		}
		var cluster, ns, cond, optional []string
		for _, p := range r.Cluster {
			cluster = append(cluster, describeRule(p))
		}
		for _, s := range []Scope{ScopeTarget, ScopeSource, ScopeOpenShiftConfig, ScopeRegistry} {
			for _, p := range r.Namespaced[s] {
				ns = append(ns, fmt.Sprintf("*%s*: %s", s, describeRule(p)))
			}
		}
		for _, c := range r.Conditional {
			cond = append(cond, fmt.Sprintf("*%s*: %s", c.When, describeScoped(c.Scope, c.Rule)))
		}
		for _, o := range r.Optional {
			d := describeScoped(o.Scope, o.Rule)
			optional = append(optional, d)
			i := slices.IndexFunc(opts, func(x *opt) bool { return x.benefit == o.Benefit && x.rule == d })
			if i < 0 {
				opts = append(opts, &opt{benefit: o.Benefit, rule: d})
				i = len(opts) - 1
			}
			opts[i].ops = append(opts[i].ops, "`"+string(op)+"`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", op, cell(cluster), cell(ns), cell(cond), cell(optional))
	}
	b.WriteString("\nScopes (a Role and RoleBinding in each namespace of the scope):\n\n")
	for _, s := range []struct {
		s    Scope
		desc string
	}{
		{ScopeTarget, "each namespace the operation works in: its namespace argument or option (workflows: `default` unless told), every target namespace of a copy or attach, every project of `ExposeInternalRegistry`, every namespace whose copy `RotateAPIKey` updates."},
		{ScopeSource, "the namespace of the secret that is copied (`CopyICROptions.From`, `default` unless told)."},
		{ScopeOpenShiftConfig, "the namespace `openshift-config` (the global pull secret)."},
		{ScopeRegistry, "the integrated registry's namespace: `openshift-image-registry` on OpenShift 4 (`ExposeOptions.Namespace` when set)."},
	} {
		fmt.Fprintf(&b, "- *%s*: %s\n", s.s, s.desc)
	}
	b.WriteString("\nOnly when (grant these too in that case):\n\n")
	for _, c := range []struct {
		c    Condition
		desc string
	}{
		{WhenSelector, "`Targets.Selector`/`Targets.All`, `CopyICROptions.Selector`/`All` or `RotateOptions.Selector` is set (namespaces are listed)."},
		{WhenReplace, "an existing copy has another type or is immutable: `Copy` deletes and re-creates it."},
		{WhenUnreferenced, "the service account references no `kubernetes.io/dockercfg` secret (no `openshift.io/internal-registry-pull-secret-ref` annotation, no `<sa>-dockercfg-*` entry): its dockercfg secrets are listed."},
		{WhenCustomHost, "a route host is set (`Hostname`) on OpenShift, whose route admission requires `create` on `routes/custom-host`; a plain API server with the Route CRD does not check it (not covered by the integration tests)."},
		{WhenPod, "`Explain`'s subject is a pod (`Subject.Pod`)."},
		{WhenPVC, "the registry stores images on a PersistentVolumeClaim: `Storage` reads it."},
	} {
		fmt.Fprintf(&b, "- *%s*: %s\n", c.c, c.desc)
	}
	b.WriteString("\nOptional (never required: without them the operation takes a fallback that needs only the rules above):\n\n")
	for _, o := range opts {
		fmt.Fprintf(&b, "- %s for %s: %s.\n", o.rule, strings.Join(o.ops, ", "), o.benefit)
	}
	return b.String()
}

func cell(items []string) string {
	if len(items) == 0 {
		return "—"
	}
	return strings.Join(items, "<br>")
}

// describeRule formats a rule as "`secrets` `pull-secret`: get, update",
// with the API group after the resource when it is not the core group.
func describeRule(p rbacv1.PolicyRule) string {
	var res []string
	for _, gp := range p.APIGroups {
		for _, r := range p.Resources {
			name, sub, _ := strings.Cut(r, "/")
			if gp != "" {
				name += "." + gp
			}
			if sub != "" {
				name += "/" + sub
			}
			res = append(res, "`"+name+"`")
		}
	}
	s := strings.Join(res, ", ")
	if len(p.ResourceNames) > 0 {
		s += " named `" + strings.Join(p.ResourceNames, "`, `") + "`"
	}
	return s + ": " + strings.Join(p.Verbs, ", ")
}

func describeScoped(s Scope, p rbacv1.PolicyRule) string {
	if s == "" {
		return "cluster-wide " + describeRule(p)
	}
	return "*" + string(s) + "* " + describeRule(p)
}
