package starter

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// maxID bounds an incident ID or key in a path: `incident-` and a key.
const maxID = len("incident-") + incident.MaxKey

// pathID is the incident named by the path, as `incident-<key>` or a bare
// key. It must be printable text of bounded length: an ID with control or
// direction-changing characters is refused, not passed on to Temporal.
func pathID(r *http.Request) (string, error) {
	raw := r.PathValue("id")
	switch {
	case raw == "":
		return "", &BadRequest{Field: "id", Msg: "required"}
	case len(raw) > maxID:
		return "", &BadRequest{Field: "id", Msg: fmt.Sprintf("%d bytes is too long (at most %d)", len(raw), maxID)}
	case !utf8.ValidString(raw):
		return "", &BadRequest{Field: "id", Msg: "not valid UTF-8"}
	}
	for _, c := range raw {
		if !unicode.IsPrint(c) {
			return "", &BadRequest{Field: "id", Msg: fmt.Sprintf("has the unprintable character %U", c)}
		}
	}
	return workflows.NormalizeID(raw), nil
}

// credential is the credentials of an Authorization header of the given
// scheme, which is matched without regard to case (RFC 9110).
func credential(r *http.Request, scheme string) string {
	got, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(got, scheme) {
		return ""
	}
	return strings.TrimSpace(cred)
}

// jsonKind names a Go type as JSON does, so messages speak the API's
// words: "want an array", never "want []starter.alertmanagerAlert".
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a value"
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
