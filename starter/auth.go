package starter

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/incidentflow/incidentflow/config"
)

// Forbidden is a 403: the token is good but may not do this.
type Forbidden struct{ Msg string }

func (e *Forbidden) Error() string { return e.Msg }

// errNoAPIToken and errBadAPIToken are the API's 401s (integrations have
// their own); neither says which tokens exist.
var (
	errNoAPIToken  = errors.New("authorization: an API token is required (Authorization: Bearer <token>; api_tokens in the config)")
	errBadAPIToken = errors.New("authorization: that API token is not one of api_tokens (or its variable is empty)")
)

// apiKey is a configured API token with its secret from the environment.
type apiKey struct {
	config.APIToken
	secret string
}

// tokenOf finds the API token the request carries. Calendar clients
// cannot send headers, so a feed may take it as ?token= (use a read-only
// token there: URLs end up in logs).
func (s *Server) tokenOf(r *http.Request, inQuery bool) (*config.APIToken, bool) {
	bearer := credential(r, "Bearer")
	if bearer == "" && inQuery {
		bearer = r.URL.Query().Get("token")
	}
	if bearer == "" {
		return nil, false
	}
	var found *config.APIToken
	for i := range s.apiKeys {
		// Compare with every key, so the time taken says nothing of which matched.
		if subtle.ConstantTimeCompare([]byte(s.apiKeys[i].secret), []byte(bearer)) == 1 && found == nil {
			found = &s.apiKeys[i].APIToken
		}
	}
	return found, found != nil
}

// authorize settles who acts on a write: the token's user, or, when by
// names someone else, that user if the token may act for others. by is
// filled in when empty. decodeErr, a failure to read the body, is
// reported only after the credential has been checked.
func (s *Server) authorize(r *http.Request, decodeErr error, by *string) error {
	t, ok := s.tokenOf(r, false)
	switch {
	case !ok:
		return s.missingToken(r, false)
	case t.ReadOnly:
		return &Forbidden{Msg: fmt.Sprintf("token %s is read-only", t.Name)}
	case decodeErr != nil:
		return decodeErr
	case *by == "":
		*by = t.User
	case *by != t.User && !t.ActForOthers:
		return &Forbidden{Msg: fmt.Sprintf("by: token %s acts as %s, not %q (act_for_others is off)", t.Name, t.User, *by)}
	}
	return s.checkUser("by", *by)
}

// readable guards a read: open with http.public_reads, else any API token
// (read-only ones included).
func (s *Server) readable(inQuery bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.HTTP.PublicReads {
			if _, ok := s.tokenOf(r, inQuery); !ok {
				s.fail(w, r, s.missingToken(r, inQuery))
				return
			}
		}
		h(w, r)
	}
}

// missingToken tells a request with no token from one with a wrong one.
func (s *Server) missingToken(r *http.Request, inQuery bool) error {
	if credential(r, "Bearer") != "" || (inQuery && r.URL.Query().Get("token") != "") {
		return errBadAPIToken
	}
	return errNoAPIToken
}
