package incident

import "strings"

// Slug lowercases s and keeps ASCII letters, digits and the characters in
// extra; every other run of characters becomes one hyphen. It is at most
// max bytes long and never starts or ends with a hyphen. Incident IDs,
// Slack channel names and declared keys all use it, each with its own
// extra characters and length.
func Slug(s, extra string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r < 128 && strings.ContainsRune(extra, r):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	if len(slug) > max {
		slug = strings.Trim(slug[:max], "-")
	}
	return slug
}
