package configcheck

import (
	"fmt"
	"sort"
	"strings"
)

// typos reports set variables that are not known but look like they were
// meant to be: under one of the rule set's prefixes, or within a small edit
// distance of a known name. Names and prefixes are compared without regard
// to case, so a name that differs from a known one only by case (app_env in
// an env file) is reported too. Only names are reported, never values.
func (rs *RuleSet) typos(src Source) []Problem {
	known := make(map[string]bool, 2*len(rs.Vars))
	var names, folded []string
	for _, v := range rs.Vars {
		known[v.Name] = true
		known[v.Name+FileSuffix] = true
		names = append(names, v.Name, v.Name+FileSuffix)
		folded = append(folded, strings.ToUpper(v.Name), strings.ToUpper(v.Name+FileSuffix))
	}
	set := src.names()
	sort.Strings(set)
	var out []Problem
	var scratch []int
	for i, n := range set {
		if known[n] || n == "" || (i > 0 && set[i-1] == n) {
			continue
		}
		upper := strings.ToUpper(n)
		best, bestD := nearest(upper, names, folded, &scratch)
		limit := 2
		if len(n) <= 5 {
			limit = 1
		}
		prefix := ""
		for _, p := range rs.Prefixes {
			if strings.HasPrefix(upper, strings.ToUpper(p)) {
				prefix = p
				break
			}
		}
		var msg, hint string
		switch {
		case best != "" && bestD == 0:
			msg = "is not a known variable (names are case-sensitive); did you mean " + best + "?"
			hint = fmt.Sprintf("rename it to %s, or remove it", best)
		case best != "" && bestD <= limit:
			msg = "is not a known variable; did you mean " + best + "?"
			hint = fmt.Sprintf("rename it to %s, or remove it", best)
		case prefix != "":
			msg = fmt.Sprintf("is not a known variable, but uses the application's prefix %s", prefix)
			hint = "check the spelling against the documented variables, or remove it"
		default:
			continue
		}
		out = append(out, Problem{Var: safeName(n), Rule: "unknown", Severity: SeverityWarning, Message: msg, Hint: hint})
	}
	return out
}

// nearest returns the name of names whose upper-case form (folded[i]) is
// closest to upper and its edit distance, or "" and 3 when none is closer
// than 3 edits.
func nearest(upper string, names, folded []string, scratch *[]int) (best string, bestD int) {
	bestD = 3
	for i, k := range folded {
		if d := editDistance(upper, k, bestD, scratch); d < bestD {
			best, bestD = names[i], d
		}
	}
	return best, bestD
}

// safeName returns a variable name fit for a report: quoted when it holds
// anything but name characters, and shortened when long.
func safeName(n string) string {
	if len(n) > 64 {
		n = n[:64]
	}
	for _, r := range n {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Sprintf("%q", n)
		}
	}
	return n
}

// editDistance is the optimal-string-alignment distance between a and b
// (insertions, deletions, substitutions and adjacent transpositions cost 1),
// or limit when it is limit or more. Its rows live in *scratch, grown as
// needed.
func editDistance(a, b string, limit int, scratch *[]int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	w := len(b) + 1
	if cap(*scratch) < 3*w {
		*scratch = make([]int, 3*w)
	}
	buf := (*scratch)[:3*w]
	prev2, prev, cur := buf[:w:w], buf[w:2*w:2*w], buf[2*w:]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}
