package config_test

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/incidentflow/incidentflow/config"
)

// topKeys are the keys a config file may start a path with.
func topKeys() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[config.Config]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}

// byLine is a problem placed by line where no key holds it (a YAML syntax
// error, a duplicate key).
var byLine = regexp.MustCompile(`^line \d+: `)

// FuzzParse: a config file, whatever its bytes, is either a config or a
// list of problems; never a panic. Every problem names where it is: a key
// path that starts at one of the config's own top-level keys (or at the
// unknown key the file put there), or a line. Only a file that is not
// YAML at all may be refused in the YAML parser's words.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"demo.yaml", "example.yaml", "testdata/contract-config.yaml", "testdata/five_mistakes.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(validYAML))
	for _, edit := range []string{
		"",
		"\x00",
		"services: {checkout: {escalation_policy: \"P\x00\"}}\n",
		"users: {\"al\xffice\": {}}\n",
		"users: {alice: {email: \"\x1b[31m\"}}\n",
		"services: " + strings.Repeat("[", 2000) + "\n",
		"users: " + strings.Repeat("{a: ", 1000) + "1" + strings.Repeat("}", 1000) + "\n",
		"a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
		"escalation_policies: {P: {repeat: 99999999999999999999}}\n",
		"escalation_policies: {P: {steps: [{delay: -5m, targets: []}]}}\n",
		"schedules: {S: {time_zone: Mars/Olympus, layers: [{start: yesterday, shift: 0s, users: []}]}}\n",
		"http: {max_body_bytes: -1}\n",
		"integrations: [{name: " + strings.Repeat("x", 10000) + ", kind: generic}]\n",
		"services:\n\tcheckout: {}\n",
		"users: {a: !!binary aGVsbG8=}\n",
		"services: {s: {escalation_policy: p, <<: 5}}\n",
		"--- \n...\n---\nusers: {}\n",
		"users:\n  ? [a]\n  : {}\n",
		"severities: {P1: {}, P1: {}}\n",
	} {
		f.Add([]byte(validYAML + edit))
		f.Add([]byte(edit))
	}
	keys := topKeys()
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := parseWithin(t, b, 10*time.Second)
		if err == nil {
			if cfg == nil {
				t.Fatal("no error and no config")
			}
			// What the rest of the program asks of a valid config.
			_ = cfg.SeverityNames()
			return
		}
		if cfg != nil {
			t.Fatalf("a config and an error: %v", err)
		}
		var problems config.Problems
		if !errors.As(err, &problems) || len(problems) == 0 {
			t.Fatalf("error %q (%T) is not a list of problems", err, err)
		}
		var doc yaml.Node
		isYAML := yaml.Unmarshal(b, &doc) == nil
		for _, p := range problems {
			if strings.TrimSpace(p) == "" {
				t.Fatalf("an empty problem in %q", problems)
			}
			if byLine.MatchString(p) || !isYAML {
				continue
			}
			if !namesKey(p, keys, &doc) {
				t.Fatalf("problem %q names no key path and no line", p)
			}
		}
	})
}

// namesKey says whether problem p starts with a key path: a key of the
// config or one at the top of the file (an unknown key is reported under
// its own name, spaces and all), then ".", "[" or ": ".
func namesKey(p string, keys map[string]bool, doc *yaml.Node) bool {
	starts := func(k string) bool {
		rest, ok := strings.CutPrefix(p, k)
		return ok && k != "" && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, ": "))
	}
	for k := range keys {
		if starts(k) {
			return true
		}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if starts(m.Content[i].Value) {
			return true
		}
	}
	return false
}

// parseWithin is config.Parse that fails the test when it takes longer
// than limit: a file that hangs the parser hangs `serve` at start-up, and
// the fuzzer itself has no notion of a hang.
func parseWithin(t *testing.T, b []byte, limit time.Duration) (*config.Config, error) {
	type result struct {
		cfg *config.Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		cfg, err := config.Parse(b)
		done <- result{cfg, err}
	}()
	select {
	case r := <-done:
		return r.cfg, r.err
	case <-time.After(limit):
		t.Fatalf("Parse of %d bytes took longer than %s", len(b), limit)
		return nil, nil
	}
}
