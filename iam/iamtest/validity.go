package iamtest

import "time"

// TokenValidAt reports whether the server accepts the access token at the
// given time, as it decides for a request carrying it: the server issued
// it, RevokeTokens has not been called since, and at is not after its
// expiry. A test that watches where tokens are written uses it to check
// that each one was still good.
func (s *Server) TokenValidAt(token string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.tokens[token]
	return ok && !at.After(info.expires)
}

// TokenExpiry returns when the server stops accepting the access token,
// and false for a token it did not issue (or has revoked).
func (s *Server) TokenExpiry(token string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.tokens[token]
	return info.expires, ok
}
