package configcheck

import (
	"fmt"
	"path/filepath"
	"strings"
)

// PathList checks a comma-separated list of directories: no empty entries,
// every entry absolute; entries with surrounding spaces, not in clean form
// ("/a/../b", "/a/") or listed twice are warnings. It does not look at the
// file system: the check runs where the deploy is prepared, which may not
// be where the application runs. It types the variable as a list
// ([Report.List]).
func PathList() Rule {
	return Rule{kind: "path-list", typ: "list", check: func(_ *checkCtx, v *varState) []finding {
		var fs []finding
		seen := map[string]bool{}
		for i, raw := range strings.Split(v.value, ",") {
			p := strings.TrimSpace(raw)
			if p == "" {
				fs = append(fs, finding{msg: fmt.Sprintf("entry %d is empty", i+1), hint: "remove the stray comma"})
				continue
			}
			if p != raw {
				fs = append(fs, finding{msg: itemText(v, i, raw) + " has surrounding spaces", hint: "write the list without spaces around commas", warn: true})
			}
			fs = append(fs, checkPath(v, i, p)...)
			if c := filepath.Clean(p); seen[c] {
				fs = append(fs, finding{msg: itemText(v, i, p) + " is listed twice", hint: "remove the duplicate", warn: true})
			} else {
				seen[c] = true
			}
		}
		return fs
	}}
}

// Path checks a single directory: absolute, and in clean form (a warning).
func Path() Rule {
	return Rule{kind: "path", check: func(_ *checkCtx, v *varState) []finding {
		return checkPath(v, -1, v.value)
	}}
}

func checkPath(v *varState, i int, p string) []finding {
	name := "the path"
	if i >= 0 {
		name = itemText(v, i, p)
	} else if !v.spec.Secret {
		name = quoteValue(p)
	}
	if !filepath.IsAbs(p) {
		return one(name+" is not an absolute path", "use an absolute path such as /srv/objects")
	}
	if filepath.Clean(p) != p {
		return []finding{{msg: name + " is not in clean form", hint: "write it as " + cleanHint(v, p), warn: true}}
	}
	return nil
}

func cleanHint(v *varState, p string) string {
	if v.spec.Secret {
		return "a path without .., . or a trailing slash"
	}
	return quoteValue(filepath.Clean(p))
}

// Disjoint fails when a path of this variable (a single path or a
// comma-separated list) equals, contains or lies inside a path of other:
// private objects under a public search path would be served to anyone.
func Disjoint(other string) Rule {
	return Rule{kind: "disjoint", detail: other, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if o == nil || !o.present() {
			return nil
		}
		var fs []finding
		theirs := firstN(splitPaths(o.value), maxCompared)
		for _, a := range firstN(splitPaths(v.value), maxCompared) {
			for _, b := range theirs {
				var rel string
				switch {
				case a == b:
					rel = "is also an entry of"
				case within(a, b):
					rel = "lies inside an entry of"
				case within(b, a):
					rel = "contains an entry of"
				default:
					continue
				}
				msg := fmt.Sprintf("%s %s %s", pathName(v, a), rel, other)
				if !o.spec.Secret {
					msg += " (" + quoteValue(b) + ")"
				}
				fs = append(fs, finding{msg: msg, hint: fmt.Sprintf("keep %s and %s in separate directory trees", v.name(), other)})
			}
		}
		return fs
	}}
}

func pathName(v *varState, p string) string {
	if v.spec.Secret {
		return "a path"
	}
	return quoteValue(p)
}

// maxCompared bounds how many entries of each list Disjoint compares.
const maxCompared = 256

func firstN(s []string, n int) []string { return s[:min(len(s), n)] }

// splitPaths returns the clean, non-empty entries of a path list.
func splitPaths(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, filepath.Clean(p))
		}
	}
	return out
}

// within reports whether clean path a lies strictly inside clean path b.
func within(a, b string) bool {
	rel, err := filepath.Rel(b, a)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
