package config

import (
	"fmt"
	"io"
)

// Report writes one line per problem, each prefixed by file as compilers
// do, so editors and grep can take the output as it is.
func (p Problems) Report(w io.Writer, file string) error {
	for _, s := range p {
		if _, err := fmt.Fprintf(w, "%s: %s\n", file, s); err != nil {
			return err
		}
	}
	return nil
}

// Summary is the closing count: "1 problem in FILE", "5 problems in FILE".
func (p Problems) Summary(file string) string {
	if len(p) == 1 {
		return "1 problem in " + file
	}
	return fmt.Sprintf("%d problems in %s", len(p), file)
}
