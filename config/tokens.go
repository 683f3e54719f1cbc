package config

import "fmt"

// APIToken lets whoever holds it act over HTTP as User: a person's own
// token, or a bot's that may act for others. The token itself comes from
// the environment (TokenEnv), never from the file.
type APIToken struct {
	Name     string `yaml:"name"`
	TokenEnv string `yaml:"token_env"`
	User     string `yaml:"user"`
	// ReadOnly tokens read incidents and schedules but change nothing
	// (a calendar subscription, a dashboard).
	ReadOnly bool `yaml:"read_only"`
	// ActForOthers lets a body's `by` name another user (a chat bot that
	// relays who clicked); otherwise naming someone else is refused.
	ActForOthers bool `yaml:"act_for_others"`
}

func (c *Config) validateAPITokens(add func(key, format string, args ...any)) {
	seen := map[string]bool{}
	for i, t := range c.APITokens {
		key := fmt.Sprintf("api_tokens[%d]", i)
		switch {
		case t.Name == "":
			add(key+".name", "required")
		case seen[t.Name]:
			add(key+".name", "%q is used twice", t.Name)
		}
		seen[t.Name] = true
		if t.TokenEnv == "" {
			add(key+".token_env", "required: the environment variable holding the token")
		}
		if _, ok := c.Users[t.User]; !ok {
			add(key+".user", "%q is not a configured user: a token acts as someone", t.User)
		}
	}
}
