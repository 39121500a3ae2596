package configcheck

import (
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// FileSuffix is appended to a variable's name to read its value from a file,
// the convention of Docker and Kubernetes secrets: SESSION_SECRET_FILE=/run/secrets/s
// makes the content of /run/secrets/s the value of SESSION_SECRET. Setting both
// NAME and NAME_FILE is an error; the rules then check NAME's value, as if
// NAME_FILE were unset, so that its own problems are reported in the same run.
const FileSuffix = "_FILE"

// Source is where a check reads variables from. The zero Source reads the
// process environment (os.LookupEnv, os.Environ) and files with os.ReadFile.
type Source struct {
	// Lookup returns a variable's value and whether it is set.
	// The default (nil) is os.LookupEnv.
	Lookup func(name string) (value string, ok bool)

	// Names lists every variable that is set; it feeds typo detection.
	// The default (nil) lists the process environment when Lookup is nil too,
	// and nothing (no typo detection) when only Lookup is given.
	Names func() []string

	// ReadFile reads the file named by a NAME_FILE variable.
	// The default (nil) reads the file from the file system, at most 64 KiB.
	ReadFile func(path string) ([]byte, error)
}

// Map returns a Source over m: lookups and typo detection read m, NAME_FILE
// reads the file system. The map is copied.
func Map(m map[string]string) Source {
	c := maps.Clone(m)
	return Source{
		Lookup: func(name string) (string, bool) { v, ok := c[name]; return v, ok },
		Names:  func() []string { return slices.Sorted(maps.Keys(c)) },
	}
}

func (s Source) lookup(name string) (string, bool) {
	if s.Lookup == nil {
		return os.LookupEnv(name)
	}
	return s.Lookup(name)
}

func (s Source) names() []string {
	if s.Names != nil {
		return s.Names()
	}
	if s.Lookup != nil {
		return nil
	}
	env := os.Environ()
	names := make([]string, 0, len(env))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != "" {
			names = append(names, k)
		}
	}
	return names
}

func (s Source) readFile(path string) ([]byte, error) {
	if s.ReadFile == nil {
		return readLimited(path)
	}
	return s.ReadFile(path)
}

// readLimited reads at most maxFileSize+1 bytes of path, enough to tell that
// it is too large without reading a mistaken multi-gigabyte file whole.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// resolved is one variable after NAME_FILE resolution.
type resolved struct {
	value    string
	set      bool   // NAME or NAME_FILE is set
	fromFile string // the path when the value came from NAME_FILE
	fileErr  string // a safe description of why NAME_FILE could not be used
	conflict bool   // both NAME and NAME_FILE are set: value is NAME's, the file is not read
}

// maxFileSize bounds what a NAME_FILE may hold: secrets are small, and a
// mistaken path to a large file must not be read whole.
const maxFileSize = 64 << 10

// resolve reads name, applying the NAME_FILE convention. One trailing "\n" or
// "\r\n" is removed from a file's content (editors and `echo` add it); any
// other surrounding whitespace is kept and left for the rules to judge.
func (s Source) resolve(name string) resolved {
	v, ok := s.lookup(name)
	path, fok := s.lookup(name + FileSuffix)
	switch {
	case ok && fok:
		return resolved{value: v, set: true, conflict: true}
	case ok:
		return resolved{value: v, set: true}
	case !fok:
		return resolved{}
	}
	r := resolved{set: true, fromFile: path}
	if path == "" {
		r.fileErr = "is set but empty"
		return r
	}
	b, err := s.readFile(path)
	switch {
	case err != nil && os.IsNotExist(err):
		r.fileErr = "names a file that does not exist"
	case err != nil && os.IsPermission(err):
		r.fileErr = "names a file this process may not read"
	case err != nil:
		// The error text names the path only, which is not secret, but keep
		// the message fixed: some readers quote what they read.
		r.fileErr = "names a file that cannot be read"
	case len(b) > maxFileSize:
		r.fileErr = "names a file larger than 64 KiB"
	default:
		c := string(b)
		if strings.HasSuffix(c, "\r\n") {
			c = c[:len(c)-2]
		} else if strings.HasSuffix(c, "\n") {
			c = c[:len(c)-1]
		}
		r.value = c
	}
	return r
}
