// Package codecheck holds the module's code-shape rules as tests, so that
// `go test ./...` enforces them: no non-test function longer than the
// longest in the libraries we measure ourselves against, and package
// documentation that speaks to users rather than in the project's own words.
package codecheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// maxFuncLines is one more than sony/gobreaker v2's longest function (59).
const maxFuncLines = 60

// internalWords are words of the project's history that mean nothing to a
// user reading godoc.
var internalWords = regexp.MustCompile(`(?i)\b(seed|seeds|seeded|anchor|anchors)\b`)

// sourceFiles lists the module's non-test Go files, skipping nested modules
// (bench/), testdata and hidden directories.
func sourceFiles(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || exists(filepath.Join(p, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d source files under %s; the walk is broken", len(files), root)
	}
	return files
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestNoLongFunctions(t *testing.T) {
	for _, p := range sourceFiles(t) {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			start, end := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
			if n := end - start + 1; n > maxFuncLines {
				t.Errorf("%s:%d %s is %d lines, over %d: split it along the steps it narrates", p, start, fd.Name.Name, n, maxFuncLines)
			}
		}
	}
}

func TestNoInternalWords(t *testing.T) {
	for _, p := range sourceFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if w := internalWords.FindString(line); w != "" {
				t.Errorf("%s:%d uses %q: say \"the defaults\" or \"the alternatives\"", p, i+1, w)
			}
		}
	}
}

// TestRulesCatchWhatTheyShould keeps the two checks honest: each must flag
// a known bad input.
func TestRulesCatchWhatTheyShould(t *testing.T) {
	if !internalWords.MatchString("the seed's numbers") || internalWords.MatchString("seedling") {
		t.Error("internalWords does not match as intended")
	}
}
