package importer

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/incidentflow/incidentflow/config"
)

var update = flag.Bool("update", false, "rewrite the golden files from the importers' output")

// importNow is when the fixtures are imported: overrides and rotations that
// ended before it are dropped, so the golden files do not change with the
// date the tests run.
var importNow = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

type importFunc func(context.Context, Options) (*Result, error)

var sources = []struct {
	name string
	run  importFunc
}{
	{"opsgenie", Opsgenie},
	{"pagerduty", PagerDuty},
}

func importFixture(t *testing.T, source string, run importFunc) *Result {
	t.Helper()
	res, err := run(context.Background(), Options{Dir: filepath.Join("testdata", source), Now: importNow})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGolden(t *testing.T) {
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			res := importFixture(t, s.name, s.run)
			checkGolden(t, filepath.Join("testdata", s.name, "golden.yaml"), res.Config)
			checkGolden(t, filepath.Join("testdata", s.name, "golden-report.md"), res.Report)
			// The file on disk must load as incidentflow loads any config.
			if _, err := config.Parse(res.Config); err != nil {
				t.Fatalf("imported config does not validate:\n%v", err)
			}
			again := importFixture(t, s.name, s.run)
			if !bytes.Equal(res.Config, again.Config) || !bytes.Equal(res.Report, again.Report) {
				t.Fatal("two imports of the same data differ")
			}
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./importer -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the import (go test ./importer -update rewrites it after review):\n--- got ---\n%s", path, got)
	}
}
