package importer

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture is a saved export, file by file (slash paths), read once.
func fixture(f *testing.F, source string) map[string][]byte {
	files := map[string][]byte{}
	root := filepath.Join("testdata", source)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	return files
}

// fuzzImport writes the export with one file replaced by data and imports
// it: whatever a saved or live export holds, the import ends in a config
// and its report or in an error, never in a panic.
func fuzzImport(f *testing.F, source string, run importFunc) {
	files := fixture(f, source)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if !yield(n) {
				return
			}
		}
	})
	for i, n := range names {
		f.Add(uint8(i), files[n])
		f.Add(uint8(i), []byte(`{"data":[{}],"users":[{}],"schedules":[{}],"escalation_policies":[{}],"services":[{}]}`))
		f.Add(uint8(i), []byte(`{"data":[{"id":"\u0000","name":"`+strings.Repeat("é", 2000)+`","username":"a\xffb@example.com"}],`+
			`"users":[{"id":"P\u0000","email":"x","name":"\u202e","time_zone":"Mars/Olympus"}]}`))
		f.Add(uint8(i), []byte(`{"data":`+strings.Repeat("[", 3000)+strings.Repeat("]", 3000)+`}`))
		f.Add(uint8(i), []byte(`null`))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		dir := t.TempDir()
		replaced := names[int(which)%len(names)]
		for n, b := range files {
			if n == replaced {
				b = data
			}
			p := filepath.Join(dir, filepath.FromSlash(n))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res, err := run(context.Background(), Options{Dir: dir, Now: importNow})
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an import error that says nothing")
			}
			return
		}
		if res == nil || len(res.Config) == 0 || len(res.Report) == 0 {
			t.Fatalf("an import without a config or its report (%s replaced)", replaced)
		}
	})
}

func FuzzOpsgenieImport(f *testing.F) { fuzzImport(f, "opsgenie", Opsgenie) }

func FuzzPagerDutyImport(f *testing.F) { fuzzImport(f, "pagerduty", PagerDuty) }
