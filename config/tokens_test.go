package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAPITokensAreValidated(t *testing.T) {
	_, err := Parse([]byte(`
api_tokens:
  - {name: a, token_env: A, user: alice}
  - {name: a, token_env: B, user: zed}
  - {token_env: "", user: alice}
users: {alice: {}}
`))
	require.Error(t, err)
	for _, want := range []string{
		`api_tokens[1].name: "a" is used twice`,
		`api_tokens[1].user: "zed" is not a configured user`,
		`api_tokens[2].name: required`,
		`api_tokens[2].token_env: required`,
	} {
		require.Contains(t, err.Error(), want)
	}
}
