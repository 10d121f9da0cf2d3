// Command icr-credential-provider is a kubelet image credential provider
// for IBM Cloud Container Registry (icr.io): the kubelet runs it when it
// pulls an image from icr.io or *.icr.io, and it answers with the
// username "iambearer" and a short-lived IAM access token, so that no
// pull secret, and no API key, is stored in the cluster.
//
// It speaks credentialprovider.kubelet.k8s.io/v1: it reads one
// CredentialProviderRequest (JSON) on stdin and writes one
// CredentialProviderResponse on stdout, exiting 0. The response is keyed
// by the image's registry (cacheKeyType Registry) and its cacheDuration
// ends at the token's renewal point (80% of its lifetime), before the
// token expires. On failure it writes nothing on stdout, one line on
// stderr — never a credential — and exits 1.
//
// Where the IAM token comes from (one mode per configuration):
//
//	--api-key-file PATH                        an API key (of a service ID with Reader on container-registry), kept in a file on the node
//	--trusted-profile ID-or-NAME --cr-token-file PATH
//	                                           a trusted profile, with the compute-resource token the platform mounts (no key at all)
//	(neither; the kubelet passes a service account token)
//	                                           service-account-token mode: the pod's service account token is exchanged
//	                                           for a token of the profile named by the service account's annotation
//	                                           registrykit.io/iam-trusted-profile, or by --trusted-profile; each workload
//	                                           pulls with its own identity
//
// Other flags: --iam-url (default https://iam.cloud.ibm.com) and --domains
// (comma-separated registry domains it answers for; default every icr.io
// domain, public and private). An image on another registry that the
// kubelet's matchImages let through gets an empty answer.
//
// deploy/credential-provider/config.yaml is a CredentialProviderConfig for
// each mode. This is a plugin, not a demo: run with no request on stdin,
// it fails, as the kubelet contract requires.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	credentialproviderv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
)

const name = "icr-credential-provider"

// ProfileAnnotation on a service account names the trusted profile (id,
// name or CRN) whose token its pods pull with, in service-account-token
// mode. List it in the provider's tokenAttributes
// (requiredServiceAccountAnnotationKeys or
// optionalServiceAccountAnnotationKeys) so that the kubelet passes it.
const ProfileAnnotation = "registrykit.io/iam-trusted-profile"

// timeout bounds one run: the kubelet kills a plugin after a minute, and
// an answer (even a failure) is better than being killed.
const timeout = 45 * time.Second

// maxInput caps what is read from stdin.
const maxInput = 1 << 20

// emptyCacheDuration is how long the kubelet may remember that a registry
// outside --domains gets no credential from us: it changes only with the
// flags, which the kubelet passes again after a restart.
const emptyCacheDuration = time.Hour

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel()
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+": "+oneLine(err.Error()))
		os.Exit(1)
	}
}

// config is the parsed flags.
type config struct {
	apiKeyFile     string
	trustedProfile string
	crTokenFile    string
	iamURL         string
	domains        []string
}

// run answers one request. On error it has written nothing on stdout.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	req, err := readRequest(stdin)
	if err != nil {
		return err
	}
	resp, err := answer(ctx, cfg, req)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(resp); err != nil {
		return fmt.Errorf("encode the response: %w", err)
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var domains string
	fs.StringVar(&c.apiKeyFile, "api-key-file", "", "file holding an IBM Cloud API key (API key mode)")
	fs.StringVar(&c.trustedProfile, "trusted-profile", "", "trusted profile id (Profile-...), CRN or name: with --cr-token-file, the profile to act as; in service-account-token mode, the profile of service accounts without the "+ProfileAnnotation+" annotation")
	fs.StringVar(&c.crTokenFile, "cr-token-file", "", "file holding the compute-resource token of the node's workload identity (trusted profile mode)")
	fs.StringVar(&c.iamURL, "iam-url", iam.PublicURL, "IBM Cloud IAM endpoint")
	fs.StringVar(&domains, "domains", "", "comma-separated registry domains to answer for (default every icr.io domain, public and private)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags] < CredentialProviderRequest > CredentialProviderResponse\n\n", name)
		fmt.Fprintln(stderr, "A kubelet image credential provider (credentialprovider.kubelet.k8s.io/v1) for icr.io. Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	if c.apiKeyFile != "" && (c.trustedProfile != "" || c.crTokenFile != "") {
		errs = append(errs, errors.New("--api-key-file cannot be combined with --trusted-profile or --cr-token-file"))
	}
	if c.crTokenFile != "" && c.trustedProfile == "" {
		errs = append(errs, errors.New("--cr-token-file needs --trusted-profile"))
	}
	if domains == "" {
		c.domains, _ = icr.Domains(icr.DomainOptions{})
	} else {
		for d := range strings.SplitSeq(domains, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if msgs := validation.IsDNS1123Subdomain(d); len(msgs) > 0 {
				errs = append(errs, fmt.Errorf("--domains: %q is not a registry domain: %s", d, strings.Join(msgs, "; ")))
				continue
			}
			c.domains = append(c.domains, d)
		}
	}
	return c, errors.Join(errs...)
}

// readRequest reads one CredentialProviderRequest.
func readRequest(stdin io.Reader) (*credentialproviderv1.CredentialProviderRequest, error) {
	raw, err := io.ReadAll(io.LimitReader(stdin, maxInput))
	if err != nil {
		return nil, fmt.Errorf("read the request: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("no CredentialProviderRequest on stdin (this program is run by the kubelet)")
	}
	var req credentialproviderv1.CredentialProviderRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		// The decoder's message may quote the input, which may hold a
		// service account token: say only where it failed.
		return nil, errors.New("the request is not a CredentialProviderRequest in JSON")
	}
	want := credentialproviderv1.SchemeGroupVersion.String()
	if req.APIVersion != want || req.Kind != "CredentialProviderRequest" {
		return nil, fmt.Errorf("the request is %s %s, want %s CredentialProviderRequest", quoteOrNone(req.APIVersion), quoteOrNone(req.Kind), want)
	}
	if strings.TrimSpace(req.Image) == "" {
		return nil, errors.New("the request names no image")
	}
	return &req, nil
}

// answer builds the response for req.
func answer(ctx context.Context, cfg config, req *credentialproviderv1.CredentialProviderRequest) (*credentialproviderv1.CredentialProviderResponse, error) {
	resp := &credentialproviderv1.CredentialProviderResponse{
		TypeMeta:     metav1.TypeMeta{APIVersion: credentialproviderv1.SchemeGroupVersion.String(), Kind: "CredentialProviderResponse"},
		CacheKeyType: credentialproviderv1.RegistryPluginCacheKeyType,
	}
	reg := registryOf(req.Image)
	if !slices.Contains(cfg.domains, reg) {
		resp.CacheDuration = &metav1.Duration{Duration: emptyCacheDuration}
		return resp, nil
	}
	src, err := tokenSource(cfg, req)
	if err != nil {
		return nil, err
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return nil, err
	}
	var policy icr.RefreshPolicy
	cache := policy.FreshFor(tok, time.Now())
	if cache <= 0 {
		return nil, fmt.Errorf("the IAM token expires within %v: not handing it out", policy.MarginFor(tok))
	}
	doc, err := icr.BearerConfig(tok, []string{reg})
	if err != nil {
		return nil, err
	}
	e := doc.Auths[reg]
	resp.CacheDuration = &metav1.Duration{Duration: cache.Truncate(time.Millisecond)}
	resp.Auth = map[string]credentialproviderv1.AuthConfig{reg: {Username: e.Username, Password: e.Password}}
	return resp, nil
}

// tokenSource picks the mode from the flags and the request.
func tokenSource(cfg config, req *credentialproviderv1.CredentialProviderRequest) (iam.TokenSource, error) {
	opts := iam.TokenOptions{URL: cfg.iamURL}
	saToken := strings.TrimSpace(req.ServiceAccountToken)
	switch {
	case saToken != "" && (cfg.apiKeyFile != "" || cfg.crTokenFile != ""):
		return nil, errors.New("the request carries a service account token but --api-key-file or --cr-token-file selects another mode: drop the provider's tokenAttributes or the flag")
	case cfg.apiKeyFile != "":
		key, err := iam.ReadSecretFile(cfg.apiKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read the API key: %w", err)
		}
		return iam.NewAPIKeyTokenSource(key, opts)
	case cfg.crTokenFile != "":
		return iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{CRTokenFile: cfg.crTokenFile, TokenOptions: opts}.WithProfile(cfg.trustedProfile))
	case saToken != "":
		p := strings.TrimSpace(req.ServiceAccountAnnotations[ProfileAnnotation])
		if p == "" {
			p = cfg.trustedProfile
		}
		if p == "" {
			return nil, errors.New("no trusted profile for the service account: annotate it with " + ProfileAnnotation + " (and list the key in the provider's tokenAttributes) or give --trusted-profile")
		}
		return iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{CRToken: iam.NewSecret(saToken), TokenOptions: opts}.WithProfile(p))
	}
	return nil, errors.New("no credential: give --api-key-file, or --trusted-profile with --cr-token-file, or set the provider's tokenAttributes so that the kubelet passes a service account token")
}

// registryOf is the registry host of an image reference, as the kubelet
// keys its Registry cache: everything before the first slash, lower case.
func registryOf(image string) string {
	host, _, _ := strings.Cut(strings.TrimSpace(image), "/")
	return strings.ToLower(host)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

// oneLine joins a multi-line message (errors.Join) into one line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}
