package iamtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// TrustedProfile is a snapshot of a trusted profile held by the server.
type TrustedProfile struct {
	// ID is the profile's id ("Profile-...").
	ID string
	// IAMID is the identity its tokens carry ("iam-Profile-..."), the
	// subject of its access policies.
	IAMID     string
	Name      string
	CRN       string
	AccountID string
	// Trusts are the subjects of the compute resources the profile trusts
	// (what a link or a trust rule establishes in IAM).
	Trusts []string
}

// crToken is what a compute-resource token vouches for.
type crToken struct {
	subject string
	expires time.Time
}

// AddTrustedProfile creates a trusted profile named name in the server's
// account that trusts the compute resources whose subjects are given (for
// a Kubernetes workload, "system:serviceaccount:<namespace>:<name>", the
// sub claim of its service account token), and returns it.
func (s *Server) AddTrustedProfile(name string, subjects ...string) TrustedProfile {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "Profile-" + s.nextID()
	p := &TrustedProfile{
		ID: id, IAMID: "iam-" + id, Name: name, AccountID: s.accountID,
		CRN:    "crn:v1:bluemix:public:iam-identity::a/" + s.accountID + "::profile:" + id,
		Trusts: slices.Clone(subjects),
	}
	s.profiles = append(s.profiles, p)
	return snapshotProfile(p)
}

// TrustedProfiles returns the trusted profiles, in creation order.
func (s *Server) TrustedProfiles() []TrustedProfile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TrustedProfile, len(s.profiles))
	for i, p := range s.profiles {
		out[i] = snapshotProfile(p)
	}
	return out
}

func snapshotProfile(p *TrustedProfile) TrustedProfile {
	out := *p
	out.Trusts = slices.Clone(p.Trusts)
	return out
}

// CRToken mints a compute-resource token for the workload subject, valid
// for lifetime (zero means an hour), in the server's account: a JWT signed
// by the server, with iss, sub, aud ["iam"], iat and exp claims, like the
// service account token a cluster projects for IAM. Write it to the file
// named by iam.TrustedProfileOptions.CRTokenFile. The request log and
// Requests never show it.
func (s *Server) CRToken(subject string, lifetime time.Duration) string {
	if lifetime <= 0 {
		lifetime = time.Hour
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	exp := now.Add(lifetime)
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "iamtest-cluster"})
	claims := enc(map[string]any{
		"iss": "https://kubernetes.default.svc", "sub": subject, "aud": []string{"iam"},
		"iat": now.Unix(), "exp": exp.Unix(), "jti": randomString(16),
	})
	mac := hmac.New(sha256.New, s.signKey)
	mac.Write([]byte("cr." + head + "." + claims))
	tok := head + "." + claims + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	s.crTokens[tok] = crToken{subject: subject, expires: exp}
	return tok
}

// profileForCRToken checks a cr-token grant: the form's cr_token and
// profile_id, profile_name or profile_crn. It returns the profile, or the
// status, code and message to answer.
func (s *Server) profileForCRToken(form url.Values) (p *TrustedProfile, status int, code, msg string) {
	cr := form.Get("cr_token")
	if cr == "" {
		return nil, http.StatusBadRequest, CodePropertyMissing, "Property 'cr_token' missing or empty."
	}
	id, name, crn := form.Get("profile_id"), form.Get("profile_name"), form.Get("profile_crn")
	if id == "" && name == "" && crn == "" {
		return nil, http.StatusBadRequest, CodePropertyMissing, "Property 'profile_id', 'profile_name' or 'profile_crn' missing or empty."
	}
	ct, ok := s.crTokens[cr]
	if !ok || !time.Now().Before(ct.expires) {
		return nil, http.StatusBadRequest, CodeInvalidCRToken, "Provided compute resource token is invalid or expired."
	}
	for _, cand := range s.profiles {
		if (id == "" || cand.ID == id) && (name == "" || cand.Name == name) && (crn == "" || cand.CRN == crn) {
			p = cand
			break
		}
	}
	if p == nil {
		return nil, http.StatusBadRequest, CodeProfileNotFound, "Trusted profile not found in the account of the compute resource."
	}
	if !slices.Contains(p.Trusts, ct.subject) {
		return nil, http.StatusForbidden, CodeProfileNotTrusted, "The trusted profile does not trust this compute resource."
	}
	return p, 0, "", ""
}
