package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/propagate"
	"github.com/registrykit/registrykit/pullsecret"
)

// bearerFlags select refresher mode (--bearer) and its token source.
type bearerFlags struct {
	on             bool
	apiKeyFile     string
	trustedProfile string
	crTokenFile    string
	iamURL         string
	domains        string
}

func (b *bearerFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&b.on, "bearer", false, "keyless: write the source itself as an iambearer credential with an IAM access token, renewed before it expires (no API key in any secret)")
	fs.StringVar(&b.apiKeyFile, "api-key-file", "", "with --bearer: file holding the IBM Cloud API key the tokens are made from (kept outside the cluster)")
	fs.StringVar(&b.trustedProfile, "trusted-profile", "", "with --bearer: trusted profile id (Profile-...), CRN or name to act as, with --cr-token-file")
	fs.StringVar(&b.crTokenFile, "cr-token-file", "", "with --bearer --trusted-profile: file holding the controller's compute-resource token")
	fs.StringVar(&b.iamURL, "iam-url", iam.PublicURL, "with --bearer: IBM Cloud IAM endpoint")
	fs.StringVar(&b.domains, "domains", "", "with --bearer: comma-separated registry domains of the credential (default every icr.io domain, public and private)")
}

// validate reports every problem of the bearer flags at once; explicit
// names the flags given on the command line.
func (b *bearerFlags) validate(explicit map[string]bool) error {
	var errs []error
	if !b.on {
		for _, f := range []string{"api-key-file", "trusted-profile", "cr-token-file", "iam-url", "domains"} {
			if explicit[f] {
				errs = append(errs, fmt.Errorf("--%s needs --bearer", f))
			}
		}
		return errors.Join(errs...)
	}
	if b.apiKeyFile != "" && (b.trustedProfile != "" || b.crTokenFile != "") {
		errs = append(errs, errors.New("--api-key-file cannot be combined with --trusted-profile or --cr-token-file"))
	}
	if b.crTokenFile != "" && b.trustedProfile == "" {
		errs = append(errs, errors.New("--cr-token-file needs --trusted-profile"))
	}
	for _, d := range b.domainList() {
		if msgs := validation.IsDNS1123Subdomain(d); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--domains: %q is not a registry domain: %s", d, strings.Join(msgs, "; ")))
		}
	}
	return errors.Join(errs...)
}

func (b *bearerFlags) domainList() []string {
	if b.domains == "" {
		return nil
	}
	var out []string
	for d := range strings.SplitSeq(b.domains, ",") {
		out = append(out, strings.ToLower(strings.TrimSpace(d)))
	}
	return out
}

// embeddedLifetime is the lifetime of the embedded IAM's tokens with
// --bearer: short enough that the few seconds of the run show a renewal.
const embeddedLifetime = 2 * time.Second

// tokenSource builds the token source of --bearer. On a real cluster it
// needs --api-key-file, or --trusted-profile with --cr-token-file. In
// embedded mode the fake IAM plays the account: the key of --api-key-file
// (or one it mints) belongs to a service ID there, and --trusted-profile
// names a profile there that trusts the controller, with a
// compute-resource token in a temporary directory, removed by done.
func (b *bearerFlags) tokenSource(env *exampleenv.Env) (src iam.TokenSource, from string, done func(), err error) {
	done = func() {}
	src, from, err = b.newTokenSource(env, &done)
	return src, from, done, err
}

func (b *bearerFlags) newTokenSource(env *exampleenv.Env, done *func()) (iam.TokenSource, string, error) {
	opts := iam.TokenOptions{URL: b.iamURL, Logger: env.Logger}
	if !env.Embedded {
		switch {
		case b.apiKeyFile != "":
			key, err := iam.ReadSecretFile(b.apiKeyFile)
			if err != nil {
				return nil, "", fmt.Errorf("read the API key: %w", err)
			}
			src, err := iam.NewAPIKeyTokenSource(key, opts)
			return src, "an API key from " + b.apiKeyFile, err
		case b.trustedProfile != "" && b.crTokenFile != "":
			src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{CRTokenFile: b.crTokenFile, TokenOptions: opts}.WithProfile(b.trustedProfile))
			return src, "trusted profile " + b.trustedProfile, err
		}
		return nil, "", errors.New("--bearer needs --api-key-file, or --trusted-profile with --cr-token-file")
	}

	srv := env.IAMServer
	srv.SetTokenLifetime(embeddedLifetime)
	opts.URL = srv.URL()
	if b.trustedProfile != "" {
		const subject = "system:serviceaccount:registrykit:propagate"
		p := srv.AddTrustedProfile(b.trustedProfile, subject)
		tmp, err := os.MkdirTemp("", "propagate-")
		if err != nil {
			return nil, "", err
		}
		*done = func() { _ = os.RemoveAll(tmp) }
		file := filepath.Join(tmp, "cr-token")
		if err := os.WriteFile(file, []byte(srv.CRToken(subject, time.Hour)), 0o600); err != nil {
			return nil, "", fmt.Errorf("write the embedded compute-resource token: %w", err)
		}
		src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{ProfileID: p.ID, CRTokenFile: file, TokenOptions: opts})
		return src, "trusted profile " + p.Name + " of the embedded IAM", err
	}
	sid := srv.AddServiceID("registrykit-propagate", "pulls from icr.io with short-lived tokens")
	var key string
	if b.apiKeyFile != "" {
		k, err := iam.ReadSecretFile(b.apiKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("read the API key: %w", err)
		}
		key = k.Reveal()
		srv.AddAPIKeyValue(sid.IAMID, key)
	} else {
		key = srv.AddAPIKey(sid.IAMID)
	}
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(key), opts)
	return src, "an API key of service ID " + sid.Name + " in the embedded IAM, kept outside the cluster", err
}

// bearerOf is the iambearer token the secret ns/name holds (zero if none).
func bearerOf(ctx context.Context, kube kubernetes.Interface, ns, name string) iam.Token {
	s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return iam.Token{}
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return iam.Token{}
	}
	tok, _ := icr.BearerToken(cfg)
	return tok
}

// renewal waits, in the embedded run, until the source holds a token other
// than the one it held at the start, then checks what every secret of the
// cluster holds: no API key, and only valid iambearer tokens.
func renewal(ctx context.Context, env *exampleenv.Env, kube kubernetes.Interface, rule propagate.Rule) error {
	first := bearerOf(ctx, kube, rule.Source.Namespace, rule.Source.Name)
	env.Printf("[waiting for the token's renewal, at 80%% of its %s lifetime]\n", embeddedLifetime)
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 3*embeddedLifetime, true, func(ctx context.Context) (bool, error) {
		tok := bearerOf(ctx, kube, rule.Source.Namespace, rule.Source.Name)
		return !tok.IsZero() && tok.Value.Reveal() != first.Value.Reveal(), nil
	})
	if err != nil {
		return fmt.Errorf("the source's token was not renewed: %w", err)
	}
	if err := copiesFollow(ctx, kube, rule); err != nil {
		return err
	}
	return scan(ctx, env, kube)
}

// copiesFollow waits until every copy of rule's source holds what the
// source holds: how long that takes depends on the machine, not on a
// fixed pause.
func copiesFollow(ctx context.Context, kube kubernetes.Interface, rule propagate.Rule) error {
	name := rule.CopyName
	if name == "" {
		name = rule.Source.Name
	}
	behind := 0
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 3*embeddedLifetime, true, func(ctx context.Context) (bool, error) {
		src, err := kube.CoreV1().Secrets(rule.Source.Namespace).Get(ctx, rule.Source.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		copies, err := kube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			return false, err
		}
		behind = 0
		for i := range copies.Items {
			c := &copies.Items[i]
			if c.Annotations[pullsecret.AnnotationCopiedFrom] == rule.Source.String() && pullsecret.ContentHash(c) != pullsecret.ContentHash(src) {
				behind++
			}
		}
		return behind == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%d copies did not follow the renewed source: %w", behind, err)
	}
	return nil
}

// scan reads every secret of the cluster, as someone who can read them
// would, and prints what it found: how many iambearer tokens, whether all
// are valid now, and whether any holds an API key (username iamapikey).
func scan(ctx context.Context, env *exampleenv.Env, kube kubernetes.Interface) error {
	list, err := kube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	now := time.Now()
	var bearers, invalid, keys int
	for _, s := range list.Items {
		cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
		if err != nil {
			continue
		}
		bearer := false
		for _, e := range cfg.Auths {
			switch e.Username {
			case icr.APIKeyUsername:
				keys++
			case icr.BearerUsername:
				bearer = true
				if !iam.ParseToken(e.Password).ValidAt(now) {
					invalid++
				}
			}
		}
		if bearer {
			bearers++
		}
	}
	env.Printf("\nEvery secret read: %d hold an iambearer token, %d expired tokens found; %d API keys found.\n", bearers, invalid, keys)
	if invalid > 0 || keys > 0 {
		return errors.New("keyless mode left an API key or an expired token in a secret")
	}
	return nil
}
