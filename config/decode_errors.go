package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// problem is one finding with where it is in the file, so that a report
// reads top to bottom like the file does.
type problem struct {
	line, col int // 0: not in the file (a default, or a key left out)
	path      string
	msg       string
}

func (p problem) String() string {
	switch {
	case p.path != "":
		return p.path + ": " + p.msg
	case p.line > 0:
		return fmt.Sprintf("line %d: %s", p.line, p.msg)
	}
	return p.msg
}

// decodeProblems explains a failed strict decode of b by key path and goes
// on to the semantic checks, so one run of `config validate` lists what
// would otherwise take one fix per run to discover. yaml.v3 reports by line
// and Go type and stops at the first bad duration; this walks the file's
// node tree against the Config type instead, then decodes what remains
// once the bad values are set aside.
func decodeProblems(b []byte, strict error) Problems {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		// Not YAML: there is no tree to name keys from.
		return Problems{strings.TrimPrefix(strict.Error(), "yaml: ")}
	}
	w := newWalker()
	w.walk(&doc, nil, reflect.TypeFor[Config](), "")
	found := w.problems

	// The strict decode is the judge of what is wrong; anything it saw that
	// the walk did not is still reported, by key where the line tells.
	idx := indexTree(&doc)
	for _, msg := range yamlErrors(strict) {
		line := errorLine(msg)
		if line > 0 && w.lines[line] {
			continue
		}
		if line == 0 && len(w.problems) > 0 {
			// yaml.v3 gives no line for a value it could not decode at all
			// (bad base64 under !!binary, a `<<` of no mapping) and stops
			// there; the walk, which decodes each value as it does, has
			// named that value by its key already.
			continue
		}
		found = append(found, idx.locate(line, msg))
	}

	w.setAside(&doc)
	var cfg Config
	if err := doc.Decode(&cfg); err == nil {
		cfg.applyDefaults()
		for _, s := range cfg.Validate() {
			p := idx.place(s)
			if !w.tainted(p.path) {
				found = append(found, p)
			}
		}
	}
	return ordered(found)
}

// inFileOrder orders semantic problems as the keys they name appear in b.
func inFileOrder(b []byte, problems Problems) Problems {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		return problems
	}
	idx := indexTree(&doc)
	found := make([]problem, len(problems))
	for i, s := range problems {
		found[i] = idx.place(s)
	}
	return ordered(found)
}

// ordered sorts by position (problems with none last, by key) and drops
// repeats, which aliases and merged mappings can produce.
func ordered(found []problem) Problems {
	pos := func(p problem) (int, int) {
		if p.line == 0 {
			return math.MaxInt, 0
		}
		return p.line, p.col
	}
	slices.SortStableFunc(found, func(a, b problem) int {
		al, ac := pos(a)
		bl, bc := pos(b)
		return cmp.Or(cmp.Compare(al, bl), cmp.Compare(ac, bc), strings.Compare(a.path, b.path), strings.Compare(a.msg, b.msg))
	})
	out := make(Problems, 0, len(found))
	seen := map[string]bool{}
	for _, p := range found {
		if s := p.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

var (
	durationType    = reflect.TypeFor[Duration]()
	integrationType = reflect.TypeFor[Integration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// walker checks a node tree against a Go type the way yaml.v3 decodes it,
// naming each mistake by key path, and notes what to set aside so the rest
// can still be decoded.
type walker struct {
	problems []problem
	// lines yaml.v3 would report for the problems found, to tell which of
	// its errors are already explained.
	lines map[int]bool
	// nulls are values of the wrong type; decoding them as null leaves the
	// field at its zero value.
	nulls []*yaml.Node
	// drops are keys (unknown or repeated) whose pair is removed.
	drops map[*yaml.Node]bool
	// taint are paths whose value was set aside (or misspelt), where a
	// semantic check would only repeat the same mistake as "required".
	taint []string
	// budget bounds the walk: aliases can make a small file a huge tree.
	budget int
}

func newWalker() *walker {
	return &walker{lines: map[int]bool{}, drops: map[*yaml.Node]bool{}, budget: 1 << 20}
}

func (w *walker) add(key, n *yaml.Node, path, msg string) {
	at := n
	if key != nil {
		at = key
	}
	w.problems = append(w.problems, problem{line: at.Line, col: at.Column, path: path, msg: msg})
	w.lines[n.Line] = true
}

// walk checks n (the value of key, nil in a list) against t.
func (w *walker) walk(n, key *yaml.Node, t reflect.Type, path string) {
	if w.budget--; w.budget < 0 {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			w.walk(n.Content[0], nil, t, path)
		}
		return
	case yaml.AliasNode:
		if n.Alias != nil {
			w.walk(n.Alias, key, t, path)
		}
		return
	}
	if n.ShortTag() == "!!null" || t.Kind() == reflect.Interface {
		return
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.wrongType(n, key, t, path)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, key, t.Elem(), path)
	case reflect.Struct, reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.wrongType(n, key, t, path)
			return
		}
		w.mapping(n, t, path)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			w.wrongType(n, key, t, path)
			return
		}
		for i, item := range n.Content {
			w.walk(item, nil, t.Elem(), itemPath(path, i, item, t.Elem()))
		}
	default:
		// yaml.v3 itself says which scalars fit (yes for a bool, 1e3 for an
		// int), so the walk never disagrees with the decode it explains.
		if n.Kind != yaml.ScalarNode || n.Decode(reflect.New(t).Interface()) != nil {
			w.wrongType(n, key, t, path)
		}
	}
}

func (w *walker) wrongType(n, key *yaml.Node, t reflect.Type, path string) {
	w.add(key, n, path, "want "+yamlWant(t)+", got "+yamlGot(n))
	w.nulls = append(w.nulls, n)
	w.taint = append(w.taint, path)
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = yamlFields(t)
	}
	present := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode {
			present[k.Value] = true
		}
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if !mergeable(v) {
				// yaml.v3 says only "map merge requires map or sequence of
				// maps as the value", with no line; name the key instead.
				w.add(k, k, joinPath(path, k.Value), "want a mapping or a list of mappings to merge, got "+yamlGot(v))
				w.drops[k] = true
				continue
			}
			w.merge(v, t, path)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.add(k, k, path, "want a string key, got "+yamlGot(k))
			w.drops[k] = true
			continue
		}
		kpath := joinPath(path, k.Value)
		if first, ok := seen[k.Value]; ok {
			w.add(k, k, kpath, fmt.Sprintf("duplicate key (first at line %d)", first.Line))
			w.drops[k] = true
			continue
		}
		seen[k.Value] = k
		if fields == nil {
			w.walk(v, k, t.Elem(), kpath)
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			msg, suggestion := unknownKey(k.Value, slices.Sorted(maps.Keys(fields)))
			w.add(k, k, kpath, msg)
			w.drops[k] = true
			if suggestion != "" && !present[suggestion] {
				w.taint = append(w.taint, joinPath(path, suggestion))
			}
			continue
		}
		w.walk(v, k, ft, kpath)
	}
}

// mergeable says whether v is what a `<<` key may bring in: a mapping or a
// list of them, through aliases.
func mergeable(v *yaml.Node) bool {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return true
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if item.Kind == yaml.AliasNode && item.Alias != nil {
				item = item.Alias
			}
			if item.Kind != yaml.MappingNode {
				return false
			}
		}
		return true
	}
	return false
}

// merge walks what a `<<` key brings in: a mapping or a list of them.
func (w *walker) merge(v *yaml.Node, t reflect.Type, path string) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		w.mapping(v, t, path)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			w.merge(item, t, path)
		}
	}
}

// setAside removes unknown and repeated keys and nulls mistyped values, so
// the tree decodes into what the file got right.
func (w *walker) setAside(doc *yaml.Node) {
	var prune func(n *yaml.Node)
	prune = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			kept := n.Content[:0]
			for i := 0; i+1 < len(n.Content); i += 2 {
				if !w.drops[n.Content[i]] {
					kept = append(kept, n.Content[i], n.Content[i+1])
				}
			}
			n.Content = kept
		}
		for _, c := range n.Content {
			prune(c)
		}
	}
	prune(doc)
	for _, n := range w.nulls {
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
}

// tainted says whether a semantic problem at path is a consequence of a
// value set aside: at it, under it, or about the mapping or list holding it.
func (w *walker) tainted(path string) bool {
	for _, t := range w.taint {
		if path == t || underPath(path, t) || path != "" && path == parentPath(t) {
			return true
		}
	}
	return false
}

// yamlFields maps a struct's YAML keys to their types, as yaml.v3 names
// them (tag name, else the lower-cased field name; inline structs flattened).
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") && f.Type.Kind() == reflect.Struct {
			for k, v := range yamlFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

// itemPath names a list item by index, except integrations, which Validate
// names by their name so both kinds of problem read alike.
func itemPath(path string, i int, item *yaml.Node, elem reflect.Type) string {
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	if elem == integrationType {
		if name := scalarField(item, "name"); name != "" {
			return joinPath(path, name)
		}
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

// scalarField is the scalar value of key in mapping n, or "".
func scalarField(n *yaml.Node, key string) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == key && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

// yamlWant names what a Go type takes, in YAML's terms.
func yamlWant(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return "a duration like 5m"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a " + t.String()
}

// yamlGot names what the file has: a scalar quoted as written, a
// collection by its kind.
func yamlGot(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	v := n.Value
	if r := []rune(v); len(r) > 40 {
		v = string(r[:37]) + "..."
	}
	return strconv.Quote(v)
}

// unknownKey says a key is not one of valid, suggesting the one meant when
// one is close enough to be a typo, else listing what is valid.
func unknownKey(key string, valid []string) (msg, suggestion string) {
	if s := closestKey(key, valid); s != "" {
		return fmt.Sprintf("unknown key (did you mean %s?)", s), s
	}
	if len(valid) <= 10 {
		return "unknown key (valid keys: " + strings.Join(valid, ", ") + ")", ""
	}
	// The nearest ten are likelier to hold the one meant than the first ten.
	near := slices.Clone(valid)
	slices.SortStableFunc(near, func(a, b string) int {
		return cmp.Compare(editDistance(normKey(key), normKey(a)), editDistance(normKey(key), normKey(b)))
	})
	near = near[:10]
	slices.Sort(near)
	return fmt.Sprintf("unknown key (valid keys include %s, and %d more)", strings.Join(near, ", "), len(valid)-10), ""
}

// closestKey is the valid key a typo most likely meant: within a few edits
// (more for longer keys, so escalation_policy finds escalation_policies
// but "log" does not find "tls"), or one a prefix of the other; "" when
// none is.
func closestKey(key string, valid []string) string {
	k := normKey(key)
	limit := 3
	switch n := len([]rune(k)); {
	case n <= 4:
		limit = 1
	case n <= 9:
		limit = 2
	}
	best, bestScore := "", math.MaxInt
	for _, v := range valid {
		nv := normKey(v)
		score := editDistance(k, nv)
		if score > limit {
			short, long := k, nv
			if len(short) > len(long) {
				short, long = long, short
			}
			if len(short) < 3 || !strings.HasPrefix(long, short) {
				continue
			}
			score = limit + 1
		}
		if score < bestScore {
			best, bestScore = v, score
		}
	}
	return best
}

func normKey(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one, so
// "usres" is one edit from "users".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

// underPath says whether p names something inside parent.
func underPath(p, parent string) bool {
	if parent == "" {
		return p != ""
	}
	return len(p) > len(parent) && strings.HasPrefix(p, parent) && (p[len(parent)] == '.' || p[len(parent)] == '[')
}

// treeIndex knows every key path in a file and where it is.
type treeIndex struct {
	pos     map[string][2]int // path -> line, column of its key (or item)
	entries []treeEntry
	// used entries have been matched to a yaml.v3 message, so two alike
	// mistakes on one line are told apart.
	used map[int]bool
}

type treeEntry struct {
	path       string
	key, value *yaml.Node // key is nil for list items
}

func indexTree(doc *yaml.Node) *treeIndex {
	idx := &treeIndex{pos: map[string][2]int{}, used: map[int]bool{}}
	budget := 1 << 20
	var visit func(n *yaml.Node, path string)
	record := func(path string, key, value *yaml.Node) {
		at := value
		if key != nil {
			at = key
		}
		if _, ok := idx.pos[path]; !ok {
			idx.pos[path] = [2]int{at.Line, at.Column}
		}
		idx.entries = append(idx.entries, treeEntry{path: path, key: key, value: value})
		visit(value, path)
	}
	visit = func(n *yaml.Node, path string) {
		if budget--; budget < 0 {
			return
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				visit(c, path)
			}
		case yaml.AliasNode:
			if n.Alias != nil {
				visit(n.Alias, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				switch {
				case k.ShortTag() == "!!merge":
					visit(v, path)
				case k.Kind == yaml.ScalarNode:
					record(joinPath(path, k.Value), k, v)
				}
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				// Validate names some items (integrations) by name.
				if name := scalarField(item, "name"); name != "" {
					if _, ok := idx.pos[joinPath(path, name)]; !ok {
						idx.pos[joinPath(path, name)] = [2]int{item.Line, item.Column}
					}
				}
				record(fmt.Sprintf("%s[%d]", path, i), nil, item)
			}
		}
	}
	visit(doc, "")
	return idx
}

// place turns a "PATH: message" from Validate into a problem positioned at
// its key, or at the nearest enclosing key when the key itself was left
// out (a default, a required field).
func (idx *treeIndex) place(s string) problem {
	path, msg, ok := strings.Cut(s, ": ")
	if !ok {
		return problem{msg: s}
	}
	p := problem{path: path, msg: msg}
	for q := path; q != ""; q = parentPath(q) {
		if at, ok := idx.pos[q]; ok {
			p.line, p.col = at[0], at[1]
			break
		}
	}
	return p
}

var (
	lineRE         = regexp.MustCompile(`^line (\d+): `)
	notFoundRE     = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	unmarshalRE    = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	duplicateKeyRE = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// yamlErrors splits a yaml.v3 error into its messages, one per line of the
// file it names.
func yamlErrors(err error) []string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return te.Errors
	}
	return []string{strings.TrimPrefix(err.Error(), "yaml: ")}
}

func errorLine(msg string) int {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// locate turns a yaml.v3 message about a line into a problem by key path,
// finding on that line the key or value it is about.
func (idx *treeIndex) locate(line int, msg string) problem {
	text := lineRE.ReplaceAllString(msg, "")
	// The last match is the innermost of the nodes on the line, and a
	// collection in the wrong place is likelier a list item or leaf than the
	// flow collection around it.
	find := func(match func(e treeEntry) bool) (treeEntry, bool) {
		for i := len(idx.entries) - 1; i >= 0; i-- {
			if e := idx.entries[i]; !idx.used[i] && match(e) {
				idx.used[i] = true
				return e, true
			}
		}
		return treeEntry{}, false
	}
	at := func(e treeEntry, m string) problem {
		n := e.value
		if e.key != nil {
			n = e.key
		}
		return problem{line: n.Line, col: n.Column, path: e.path, msg: m}
	}
	if m := notFoundRE.FindStringSubmatch(text); m != nil {
		if e, ok := find(func(e treeEntry) bool { return e.key != nil && e.key.Line == line && e.key.Value == m[1] }); ok {
			return at(e, "unknown key")
		}
	}
	if m := duplicateKeyRE.FindStringSubmatch(text); m != nil {
		if e, ok := find(func(e treeEntry) bool { return e.key != nil && e.key.Line == line && e.key.Value == m[1] }); ok {
			return at(e, "duplicate key (first at line "+m[2]+")")
		}
	}
	if m := unmarshalRE.FindStringSubmatch(text); m != nil {
		tag, value, into := m[1], m[2], m[3]
		truncated := strings.HasSuffix(value, "...")
		value = strings.TrimSuffix(value, "...")
		if e, ok := find(func(e treeEntry) bool {
			v := e.value
			if v.Line != line {
				return false
			}
			switch tag {
			case "!!seq":
				return v.Kind == yaml.SequenceNode
			case "!!map":
				return v.Kind == yaml.MappingNode
			}
			return v.Kind == yaml.ScalarNode && (v.Value == value || truncated && strings.HasPrefix(v.Value, value))
		}); ok {
			return at(e, "want "+goTypeWant(into)+", got "+yamlGot(e.value))
		}
	}
	return problem{line: line, msg: text}
}

// goTypeWant is yamlWant for a type yaml.v3 names only by its Go spelling.
func goTypeWant(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case t == "config.Duration":
		return "a duration like 5m"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
		return "a mapping"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "a " + t
}
