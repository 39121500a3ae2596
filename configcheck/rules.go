package configcheck

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// got appends the safe rendering of the value to a message.
func got(v *varState, msg string) string {
	return msg + " (got " + v.describe() + ")"
}

func one(msg, hint string) []finding { return []finding{{msg: msg, hint: hint}} }

// Required fails when the variable is unset (neither NAME nor NAME_FILE).
// Combine with In(Production) for "required in production".
func Required() Rule {
	return Rule{kind: "required", always: true, check: func(c *checkCtx, v *varState) []finding {
		if v.res.set {
			return nil
		}
		return one(fmt.Sprintf("is not set (required in %s)", c.env),
			fmt.Sprintf("set %s, or %s%s to a file holding the value", v.name(), v.name(), FileSuffix))
	}}
}

// NonEmpty fails when the variable is set to nothing or only blanks.
func NonEmpty() Rule {
	return Rule{kind: "non-empty", always: true, check: func(_ *checkCtx, v *varState) []finding {
		raw := v.res.value
		if !v.res.set || v.res.fileErr != "" || strings.TrimSpace(raw) != "" {
			return nil
		}
		msg := "is set but empty"
		if raw != "" {
			msg = "holds only whitespace"
		}
		return one(msg, "give it a value or unset it")
	}}
}

// MinLen fails when the value has fewer than n characters (runes).
func MinLen(n int) Rule {
	return Rule{kind: "min-length", detail: strconv.Itoa(n), check: func(_ *checkCtx, v *varState) []finding {
		if utf8.RuneCountInString(v.value) >= n {
			return nil
		}
		return one(got(v, fmt.Sprintf("is shorter than %d characters", n)), fmt.Sprintf("use a value of at least %d characters", n))
	}}
}

// Prefixes are the value prefixes expected in one environment.
type Prefixes struct {
	// Accept lists the prefixes a value may start with. Empty Accept and
	// Warn mean no expectation in that environment.
	Accept []string
	// Warn lists prefixes accepted with a warning, such as live keys in
	// development.
	Warn []string
}

func (p Prefixes) String() string {
	s := strings.Join(p.Accept, "|")
	if len(p.Warn) > 0 {
		s += ", warn " + strings.Join(p.Warn, "|")
	}
	return s
}

// Prefix checks the start of the value with expectations per environment,
// such as Stripe's: production demands sk_live_; development accepts sk_test_
// and warns on sk_live_. The prefixes named here are the documented prefix
// class a report may show of a secret.
func Prefix(production, development Prefixes) Rule {
	var all []string
	for _, p := range []Prefixes{production, development} {
		all = append(all, p.Accept...)
		all = append(all, p.Warn...)
	}
	return Rule{
		kind:     "prefix",
		detail:   fmt.Sprintf("production %s; development %s", production, development),
		prefixes: all,
		check: func(c *checkCtx, v *varState) []finding {
			want := development
			if c.env == Production {
				want = production
			}
			if len(want.Accept) == 0 && len(want.Warn) == 0 {
				return nil
			}
			if matchedPrefix(v.value, want.Accept) != "" {
				return nil
			}
			if p := matchedPrefix(v.value, want.Warn); p != "" {
				return []finding{{
					msg:  fmt.Sprintf("starts with %s, accepted in %s only with a warning", p, c.env),
					hint: fmt.Sprintf("in %s use a value starting with %s", c.env, strings.Join(want.Accept, " or ")),
					warn: true,
				}}
			}
			return one(got(v, "does not start with "+strings.Join(want.Accept, " or ")),
				fmt.Sprintf("in %s use a value starting with %s", c.env, strings.Join(want.Accept, " or ")))
		},
	}
}

// OneOf fails when the value is not exactly one of values.
func OneOf(values ...string) Rule {
	vals := append([]string(nil), values...)
	list := strings.Join(vals, ", ")
	return Rule{kind: "one-of", detail: list, check: func(_ *checkCtx, v *varState) []finding {
		if slices.Contains(vals, v.value) {
			return nil
		}
		return one(got(v, "is not one of "+list), "use one of "+list)
	}}
}

// IntBetween fails when the value is not a base-10 integer in [lo, hi]. It
// types the variable as an int ([Report.Int]).
func IntBetween(lo, hi int) Rule {
	return Rule{kind: "int", typ: "int", detail: rangeText(lo, hi, math.MinInt, math.MaxInt, strconv.Itoa),
		check: func(_ *checkCtx, v *varState) []finding {
			n, err := strconv.Atoi(v.value)
			if err != nil {
				return one(got(v, "is not an integer"), "write a whole number such as 10")
			}
			return inRange(v, n, lo, hi, strconv.Itoa(lo), strconv.Itoa(hi))
		}}
}

// DurationBetween fails when the value is not a Go duration such as "30s" or
// "1h30m" in [lo, hi]. It types the variable as a duration ([Report.Duration]).
func DurationBetween(lo, hi time.Duration) Rule {
	return Rule{kind: "duration", typ: "duration", detail: rangeText(lo, hi, math.MinInt64, math.MaxInt64, time.Duration.String),
		check: func(_ *checkCtx, v *varState) []finding {
			d, err := time.ParseDuration(v.value)
			if err != nil {
				hint := `use Go's duration syntax, such as 30s, 5m or 1h30m`
				if _, nerr := strconv.ParseFloat(v.value, 64); nerr == nil {
					hint = "add a unit: " + hint
				}
				return one(got(v, "is not a duration"), hint)
			}
			if d <= 0 && lo == time.Nanosecond {
				return one(got(v, "is not positive"), "use a positive duration such as 30s")
			}
			return inRange(v, d, lo, hi, lo.String(), hi.String())
		}}
}

func rangeText[T int | time.Duration](lo, hi, minV, maxV T, f func(T) string) string {
	switch {
	case lo == minV && hi == maxV:
		return ""
	case lo == minV:
		return "≤ " + f(hi)
	case hi == maxV && lo == 1:
		return "> 0"
	case hi == maxV:
		return "≥ " + f(lo)
	}
	return f(lo) + ".." + f(hi)
}

func inRange[T int | time.Duration](v *varState, n, lo, hi T, los, his string) []finding {
	switch {
	case n < lo:
		return one(got(v, "is below "+los), "use a value of at least "+los)
	case n > hi:
		return one(got(v, "is above "+his), "use a value of at most "+his)
	}
	return nil
}

// Bool fails when the value is not a boolean strconv.ParseBool accepts
// (1, t, true, 0, f, false, in any usual case). It types the variable as a
// bool ([Report.Bool]).
func Bool() Rule {
	return Rule{kind: "bool", typ: "bool", check: func(_ *checkCtx, v *varState) []finding {
		if _, err := strconv.ParseBool(v.value); err != nil {
			return one(got(v, "is not a boolean"), "use true or false")
		}
		return nil
	}}
}

// URL fails when the value is not an absolute URL with a host and one of
// schemes (any scheme when none are given). It types the variable as a URL
// ([Report.URL]).
func URL(schemes ...string) Rule {
	sc := append([]string(nil), schemes...)
	return Rule{kind: "url", typ: "url", detail: strings.Join(sc, "|"), check: func(_ *checkCtx, v *varState) []finding {
		u, err := url.Parse(v.value)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return one(got(v, "is not an absolute URL"), "write a URL such as https://host/path")
		}
		if len(sc) == 0 {
			return nil
		}
		for _, s := range sc {
			if strings.EqualFold(u.Scheme, s) {
				return nil
			}
		}
		return one(got(v, "does not use "+strings.Join(sc, " or ")), "use a "+strings.Join(sc, " or ")+" URL")
	}}
}

// List checks a comma-separated list: no empty items, no item twice
// (a warning). Items are trimmed of spaces. It types the variable as a list
// ([Report.List]).
func List() Rule {
	return Rule{kind: "list", typ: "list", check: func(_ *checkCtx, v *varState) []finding {
		var fs []finding
		seen := map[string]bool{}
		for i, item := range strings.Split(v.value, ",") {
			item = strings.TrimSpace(item)
			switch {
			case item == "":
				fs = append(fs, finding{msg: fmt.Sprintf("item %d is empty", i+1), hint: "remove the stray comma"})
			case seen[item]:
				fs = append(fs, finding{msg: itemText(v, i, item) + " appears twice", hint: "remove the duplicate", warn: true})
			}
			seen[item] = true
		}
		return fs
	}}
}

// Match fails when the value does not match the regular expression pattern;
// what describes a matching value for the message, such as "a list of
// lower-case ids". It panics if pattern does not compile.
func Match(pattern, what string) Rule {
	re := regexp.MustCompile(pattern)
	return Rule{kind: "match", detail: what, check: func(_ *checkCtx, v *varState) []finding {
		if re.MatchString(v.value) {
			return nil
		}
		return one(got(v, "is not "+what), "write "+what)
	}}
}

// itemText names a list item, quoting it unless the variable is secret.
func itemText(v *varState, i int, item string) string {
	if v.spec.Secret {
		return fmt.Sprintf("item %d", i+1)
	}
	return fmt.Sprintf("item %d %s", i+1, quoteValue(item))
}

// Trimmed fails when the value has leading or trailing whitespace, a line
// break or another control character: a pasted newline in a key is the
// classic cause of "invalid API key" in production. (One trailing newline of
// a NAME_FILE is removed before any rule runs.)
func Trimmed() Rule {
	return Rule{kind: "whitespace", check: func(_ *checkCtx, v *varState) []finding {
		s := v.value
		var fs []finding
		if strings.TrimSpace(s) != s {
			fs = append(fs, finding{msg: got(v, "has leading or trailing whitespace"), hint: "remove the surrounding spaces or newlines"})
		}
		inner := strings.TrimSpace(s)
		if strings.ContainsAny(inner, "\r\n") {
			fs = append(fs, finding{msg: "contains a line break", hint: "keep the value on one line"})
		} else if strings.ContainsFunc(inner, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			fs = append(fs, finding{msg: "contains a control character", hint: "remove the control character"})
		}
		return fs
	}}
}
