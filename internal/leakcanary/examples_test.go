package leakcanary_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/registry/registrytest"
)

// exampleenvConsts returns the string constants that examples/internal/
// exampleenv declares (DemoCredentialPrefix, EnvAPIKey, ...). The package is
// internal to examples/, so they are read from its source: its constant
// declarations are type-checked on their own.
func exampleenvConsts(t *testing.T, root string) map[string]string {
	t.Helper()
	dir := filepath.Join(root, "examples", "internal", "exampleenv")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	consts := &ast.File{Name: ast.NewIdent("exampleenv")}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, d := range file.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				consts.Decls = append(consts.Decls, g)
			}
		}
	}
	// Constants that use imported packages do not type-check alone; the
	// others do, and are all that is needed.
	conf := types.Config{Error: func(error) {}}
	pkg, _ := conf.Check("exampleenv", fset, []*ast.File{consts}, nil)
	out := map[string]string{}
	for _, name := range pkg.Scope().Names() {
		if c, ok := pkg.Scope().Lookup(name).(*types.Const); ok && c.Val().Kind() == constant.String {
			out[name] = constant.StringVal(c.Val())
		}
	}
	for _, want := range []string{"DemoCredentialPrefix", "EnvAPIKey", "EnvKubeconfig", "EnvAccountID"} {
		if out[want] == "" {
			t.Fatalf("examples/internal/exampleenv declares no string constant %s", want)
		}
	}
	return out
}

// exampleNeedles are what no example may print: every key iamtest mints,
// every demo credential of exampleenv (exampleenv.DemoCredentialPrefix), and
// the service account tokens of the embedded cluster's generated dockercfg
// secrets (read from registrytest's seed objects, so a changed placeholder
// is still found; exampleenv's projects use a demo credential).
func exampleNeedles(t *testing.T, env map[string]string) []needle {
	t.Helper()
	needles := []needle{
		{"iamtest-minted API key (iamtest.KeyPrefix)", iamtest.KeyPrefix},
		{"iamtest refresh token (iamtest.RefreshTokenPrefix)", iamtest.RefreshTokenPrefix},
		{"exampleenv demo credential (exampleenv.DemoCredentialPrefix)", env["DemoCredentialPrefix"]},
	}
	for _, o := range registrytest.OpenShiftObjects() {
		s, ok := o.(*corev1.Secret)
		if !ok || s.Type != corev1.SecretTypeDockercfg {
			continue
		}
		cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
		if err != nil {
			t.Fatalf("seed secret %s/%s: %v", s.Namespace, s.Name, err)
		}
		for _, e := range cfg.Auths {
			n := needle{"service account token of " + s.Namespace + "/" + s.Name, e.Password}
			if len(e.Password) >= minForm && !slices.ContainsFunc(needles, func(x needle) bool { return x.value == n.value }) {
				needles = append(needles, n)
			}
		}
	}
	if len(needles) < 3 {
		t.Fatal("no service account token found in the embedded cluster's seed objects")
	}
	return needles
}

// TestExampleNeedlesFindAuths is the negative control of the example scan:
// what an example would print if it leaked — an auth holding a minted key
// or a demo credential, at any alignment, or a token — is found.
func TestExampleNeedlesFindAuths(t *testing.T) {
	_, root := goTool(t)
	env := exampleenvConsts(t, root)
	sc := newScanner(exampleNeedles(t, env)...)
	cases := map[string]string{
		"minted key raw":     "key: " + iamtest.KeyPrefix + "Zx9_abcdefghijklmnopqrstu",
		"minted key auth":    `"auth":"` + b64("iamapikey:"+iamtest.KeyPrefix+"Zx9_abcdefghijklmnopqrstu") + `"`,
		"registrytest token": `"auth":"` + b64("<token>:placeholder-service-account-token") + `"`,
	}
	demos := 0
	for name, v := range env {
		if strings.HasPrefix(v, env["DemoCredentialPrefix"]) && name != "DemoCredentialPrefix" {
			demos++
			cases[name+" raw"] = "using " + v
			cases[name+" auth"] = `"auth":"` + b64("cp:"+v) + `"`
			cases[name+" auth, other alignment"] = `"auth":"` + b64("robot:"+v) + `"`
		}
	}
	if demos == 0 {
		t.Error("exampleenv declares no demo credential starting with DemoCredentialPrefix")
	}
	for name, out := range cases {
		if len(sc.scan(name, out)) == 0 {
			t.Errorf("%s: not found in %q", name, out)
		}
	}
}

// example is one program under examples/.
type example struct {
	name, dir, bin string
	// credentialEnv are the credential-like environment variables the
	// program's source names (other than exampleenv's), each with a
	// sentinel value.
	credentialEnv map[string]string
	// plugin: the program is a kubelet image credential provider (it
	// imports the kubelet's credentialprovider API): it reads a request
	// on stdin and has no embedded mode. See runPlugin.
	plugin bool
}

// credentialEnvName is an environment variable that holds a credential.
var credentialEnvName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*(PASSWORD|TOKEN|SECRET|KEY|CREDENTIAL)[A-Z0-9_]*$`)

// findExamples lists examples/*/main.go (not examples/internal) under the
// module root.
func findExamples(t *testing.T, root string, env map[string]string) []*example {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(root, "examples", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*example
	for _, m := range mains {
		dir := filepath.Dir(m)
		if filepath.Base(dir) == "internal" {
			continue
		}
		ex := &example{name: filepath.Base(dir), dir: dir, credentialEnv: map[string]string{}, plugin: importsPath(t, dir, credentialProviderAPI)}
		for _, name := range stringLiterals(t, dir) {
			switch name {
			case env["EnvAPIKey"], env["EnvKubeconfig"], env["EnvAccountID"]:
				continue // these select the real cluster and IBM Cloud
			}
			if credentialEnvName.MatchString(name) {
				ex.credentialEnv[name] = "LEAKCANARY-env-" + strings.ToLower(strings.ReplaceAll(name, "_", "-")) + "-3d8b5f"
			}
		}
		out = append(out, ex)
	}
	if len(out) == 0 {
		t.Fatalf("no examples/*/main.go under %s", root)
	}
	return out
}

// stringLiterals returns the string literals of the non-test Go files in dir.
func stringLiterals(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

// goTool returns the go command and the module root.
func goTool(t *testing.T) (goCmd, root string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build the examples: %v", err)
	}
	out, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("go env GOMOD: not in a module")
	}
	return goCmd, filepath.Dir(gomod)
}

// buildExamples builds every example into dir with one go build (the
// packages share the build cache and are linked in parallel); if that
// fails, it builds them one by one so that each failure is named.
func buildExamples(t *testing.T, goCmd, root, dir string, exs []*example) {
	t.Helper()
	args := []string{"build", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, ex := range exs {
		args = append(args, "./examples/"+ex.name)
		ex.bin = filepath.Join(dir, ex.name)
	}
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = root
	if _, err := cmd.CombinedOutput(); err == nil {
		return
	}
	for _, ex := range exs {
		cmd := exec.Command(goCmd, "build", "-ldflags=-s -w", "-o", ex.bin, "./examples/"+ex.name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go build ./examples/%s: %v\n%s", ex.name, err, out)
		}
	}
}

// run is one run of an example.
type run struct {
	args        []string
	env         []string
	stdin       string
	note        string // what else is special about the run
	mustSucceed bool
	stdout      string
	stderr      string
	err         error
}

func (r *run) exec(ctx context.Context, bin string, sem chan struct{}) {
	sem <- struct{}{}
	defer func() { <-sem }()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, r.args...)
	cmd.Env = r.env
	cmd.Stdin = strings.NewReader(r.stdin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 10 * time.Second
	r.err = cmd.Run()
	r.stdout, r.stderr = out.String(), errOut.String()
}

// boolFlags returns the boolean flags that a flag package usage text
// lists ("  -name" alone or followed by a tab: no type word).
var boolFlagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9_.-]*)(\t.*)?$`)

func boolFlags(usage string) []string {
	var out []string
	for _, m := range boolFlagLine.FindAllStringSubmatch(usage, -1) {
		switch m[1] {
		case "v", "dry-run", "h", "help":
			continue
		}
		out = append(out, m[1])
	}
	return out
}

// TestExamplesDoNotLeak builds every program under examples/ and runs it
// embedded — an environment with only HOME, so no KUBECONFIG and no
// IBMCLOUD_API_KEY — with -h and --help (each must exit 0), with -v (debug logs on stderr), with -v
// --dry-run, with -v and each of the program's own boolean flags, and,
// when its source names credential-like environment variables, with -v and
// each of them set to a sentinel. Every stdout and stderr is scanned.
func TestExamplesDoNotLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every example; skipped with -short")
	}
	goCmd, root := goTool(t)
	env := exampleenvConsts(t, root)
	exs := findExamples(t, root, env)
	bin := t.TempDir()
	start := time.Now()
	buildExamples(t, goCmd, root, bin, exs)
	t.Logf("built %d examples in %s", len(exs), time.Since(start).Round(time.Millisecond))
	baseNeedles := exampleNeedles(t, env)

	sem := make(chan struct{}, 2) // at most two programs run at once
	t.Run("run", func(t *testing.T) {
		for _, ex := range exs {
			if _, err := os.Stat(ex.bin); err != nil {
				continue // the build failure is reported
			}
			t.Run(ex.name, func(t *testing.T) {
				t.Parallel()
				if ex.plugin {
					runPlugin(t, ex, baseNeedles, sem)
					return
				}
				runExample(t, ex, baseNeedles, sem)
			})
		}
	})
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// runExample runs one example in every way and scans its output. Only the
// plain run must succeed: --dry-run, a flag alone or a credential variable
// may make a program stop early (that is logged), and what it printed until
// then is scanned all the same. Programs that do not take exampleenv's -v or
// --dry-run (a read-only one, say) are run without them.
func runExample(t *testing.T, ex *example, baseNeedles []needle, sem chan struct{}) {
	home := t.TempDir()
	env := []string{"HOME=" + home, "TMPDIR=" + home}
	needles := slices.Clone(baseNeedles)
	var credEnv []string
	for _, name := range slices.Sorted(maps.Keys(ex.credentialEnv)) {
		credEnv = append(credEnv, name+"="+ex.credentialEnv[name])
		needles = append(needles, needle{"$" + name, ex.credentialEnv[name]})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	help := &run{args: []string{"-h"}, env: env, note: " (usage)"}
	help.exec(ctx, ex.bin, sem)
	usage := help.stderr + help.stdout
	longHelp := &run{args: []string{"--help"}, env: env, note: " (usage)"}
	longHelp.exec(ctx, ex.bin, sem)
	for _, h := range []*run{help, longHelp} {
		// Asking for the usage is not a failure: exit 0, as other CLIs do.
		if h.err != nil || !strings.Contains(h.stderr+h.stdout, "Usage of") {
			t.Errorf("%s %s: %v, want exit 0 with the usage\nstderr:\n%s", ex.name, h.args[0], h.err, h.stderr)
		}
	}
	var base []string
	if hasFlag(usage, "v") {
		base = []string{"-v"}
	}
	with := func(args ...string) []string { return append(slices.Clone(base), args...) }
	runs := []*run{help, longHelp, {args: with(), env: env, mustSucceed: true}}
	if hasFlag(usage, "dry-run") {
		runs = append(runs, &run{args: with("--dry-run"), env: env})
	}
	for _, f := range boolFlags(usage) {
		runs = append(runs, &run{args: with("--" + f), env: env})
	}
	if len(credEnv) > 0 {
		runs = append(runs, &run{args: with(), env: append(slices.Clone(env), credEnv...),
			note: " with " + strings.Join(slices.Sorted(maps.Keys(ex.credentialEnv)), ", ") + " set"})
	}
	for _, r := range runs[2:] {
		r.exec(ctx, ex.bin, sem)
	}

	c := &corpus{}
	for _, r := range runs {
		where := fmt.Sprintf("%s %s%s", ex.name, strings.Join(r.args, " "), r.note)
		c.add(where+" stdout", r.stdout)
		c.add(where+" stderr", r.stderr)
		if r == help || r == longHelp {
			continue
		}
		var exit *exec.ExitError
		switch {
		case r.err != nil && (r.mustSucceed || !errors.As(r.err, &exit)):
			t.Errorf("%s: %v\nstdout:\n%s\nstderr:\n%s", where, r.err, r.stdout, r.stderr)
		case r.err != nil:
			last := strings.TrimSpace(r.stderr)
			last = last[strings.LastIndexByte(last, '\n')+1:]
			t.Logf("NOTE %s: exit %d (%s); its output is scanned all the same", where, exit.ExitCode(), last)
		}
		if first, _, _ := strings.Cut(r.stdout, "\n"); (r.mustSucceed || first != "") && !strings.Contains(first, "embedded in-memory") {
			t.Errorf("%s: the first line does not say the run is embedded: %q", where, first)
		}
		if r.mustSucceed && len(base) > 0 && !strings.Contains(r.stderr, "level=") {
			t.Errorf("%s: -v logged nothing to stderr, so no log record was scanned", where)
		}
	}
	c.check(t, newScanner(needles...), 2*len(runs))
	t.Logf("%d runs (own boolean flags %v, credential variables %v), %d bytes of output scanned",
		len(runs), boolFlags(usage), slices.Sorted(maps.Keys(ex.credentialEnv)), outputSize(runs))
}

// hasFlag reports whether a flag package usage text lists flag name.
func hasFlag(usage, name string) bool {
	return regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(name) + `(\t| |$)`).MatchString(usage)
}

func outputSize(runs []*run) int {
	n := 0
	for _, r := range runs {
		n += len(r.stdout) + len(r.stderr)
	}
	return n
}
