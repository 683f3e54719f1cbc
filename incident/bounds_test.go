package incident

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCutKeepsWithinTheLimitOnACharacterBoundary(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
	}{
		{"short", "disk full", 100},
		{"ascii", strings.Repeat("x", 5000), 1024},
		{"multibyte", strings.Repeat("é", 3000), 1001},
		{"tiny limit", strings.Repeat("y", 100), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Cut(tt.in, tt.limit)
			if len(tt.in) <= tt.limit {
				if got != tt.in {
					t.Fatalf("Cut changed a short string: %q", got)
				}
				return
			}
			if !utf8.ValidString(got) {
				t.Fatalf("Cut split a character: %q", got[len(got)-20:])
			}
			if !strings.Contains(got, "[cut ") {
				t.Fatalf("Cut did not mark the cut: %q", got)
			}
			if tt.limit > 40 && len(got) > tt.limit {
				t.Fatalf("len %d over limit %d", len(got), tt.limit)
			}
		})
	}
}

func TestCutIDKeepsLongIdentifiersApart(t *testing.T) {
	a := strings.Repeat("k", 600) + "a"
	b := strings.Repeat("k", 600) + "b"
	if CutID(a, MaxKey) == CutID(b, MaxKey) {
		t.Fatal("two long keys became one")
	}
	if n := len(CutID(a, MaxKey)); n > MaxKey {
		t.Fatalf("len %d over %d", n, MaxKey)
	}
	if CutID("short", MaxKey) != "short" {
		t.Fatal("a short key changed")
	}
}

func TestCheckLenNamesFieldAndLimit(t *testing.T) {
	err := CheckLen("text", strings.Repeat("n", 4001), MaxText)
	if err == nil || err.Error() != "text: 4001 bytes is too long (at most 4000)" {
		t.Fatalf("got %v", err)
	}
	if CheckLen("text", "ok", MaxText) != nil {
		t.Fatal("refused a short text")
	}
}

func TestDurationReadsAsPeopleWriteIt(t *testing.T) {
	for in, want := range map[time.Duration]string{
		5 * time.Minute: "5m", 90 * time.Minute: "1h30m", 2 * time.Hour: "2h", 45 * time.Second: "45s",
		83*time.Second + 500*time.Millisecond: "1m23.5s", 0: "0s",
	} {
		b, err := json.Marshal(Duration(in))
		if err != nil || string(b) != `"`+want+`"` {
			t.Errorf("%v: got %s, %v; want %q", in, b, err, want)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != in {
			t.Errorf("%s: read back %v, %v", b, time.Duration(back), err)
		}
	}
	var old Duration
	if err := json.Unmarshal([]byte("60000000000"), &old); err != nil || time.Duration(old) != time.Minute {
		t.Errorf("nanoseconds: %v, %v", time.Duration(old), err)
	}
}

func TestSlug(t *testing.T) {
	for _, tt := range []struct {
		in, extra string
		max       int
		want      string
	}{
		{`{}:{alertname="HighErrorRate"}`, "._", 80, "alertname-higherrorrate"},
		{"db-1.disk_full", "._", 80, "db-1.disk_full"},
		{"db-1.disk_full", "_", 80, "db-1-disk_full"},
		{"Checkout 5xx — EU!", "", 80, "checkout-5xx-eu"},
		{"ÉÉÉ", "", 80, ""},
		{strings.Repeat("ab-", 30), "", 12, "ab-ab-ab-ab"},
	} {
		if got := Slug(tt.in, tt.extra, tt.max); got != tt.want {
			t.Errorf("Slug(%q, %q, %d) = %q, want %q", tt.in, tt.extra, tt.max, got, tt.want)
		}
	}
}
