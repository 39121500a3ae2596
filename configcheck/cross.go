package configcheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RequiredIf fails when the variable is unset while other's value (or
// default) is one of values, or, with no values, while other has any value:
// a key needed only when the feature that uses it is switched on, such as
// RequiredIf("CHECKOUT", "stripe").
func RequiredIf(other string, values ...string) Rule {
	vals := slices.Clone(values)
	when := other + " is set"
	if len(vals) > 0 {
		when = other + " is " + strings.Join(vals, " or ")
	}
	return Rule{kind: "required", detail: "if " + when, always: true, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if v.res.set || o == nil || !o.present() || (len(vals) > 0 && !slices.Contains(vals, o.value)) {
			return nil
		}
		return one("is not set (required when "+when+")",
			fmt.Sprintf("set %s, or %s%s to a file holding the value, or change %s", v.name(), v.name(), FileSuffix, other))
	}}
}

// mode is one mode of a pair of keys, such as Stripe's "live" mode:
// a secret key starting with sk_live_ and a publishable key with pk_live_.
type mode struct {
	name        string // "live"
	prefix      string // prefix of this variable's value: "sk_live_"
	otherPrefix string // prefix of the other variable's value: "pk_live_"
}

// sameMode fails when this variable and other are both set and their
// prefixes place them in different modes (a test secret key with a live
// publishable key). Values matching no mode are left to Prefix rules.
func sameMode(other string, modes ...mode) Rule {
	var mine, theirs []string
	for _, m := range modes {
		mine = append(mine, m.prefix)
		theirs = append(theirs, m.otherPrefix)
	}
	return Rule{kind: "same-mode", detail: other, prefixes: mine, cross: other, crossPrefixes: theirs, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if o == nil || !o.present() {
			return nil
		}
		var a, b *mode
		for i := range modes {
			m := &modes[i]
			if a == nil && strings.HasPrefix(v.value, m.prefix) {
				a = m
			}
			if b == nil && strings.HasPrefix(o.value, m.otherPrefix) {
				b = m
			}
		}
		if a == nil || b == nil || a.name == b.name {
			return nil
		}
		return one(fmt.Sprintf("is a %s key (%s) but %s is a %s key (%s)", a.name, a.prefix, other, b.name, b.otherPrefix),
			"take both keys from the same mode of the provider's dashboard")
	}}
}

// NotAbove fails when the value is greater than other's (or other's
// Default when other is unset). Both are compared as integers, or else as
// durations; values that parse as neither are left to their own rules.
// Use it for DB_MIN_CONNS ≤ DB_MAX_CONNS.
func NotAbove(other string) Rule { return order(other, false) }

// Below is NotAbove with a strict comparison: the value must be less than
// other's, as a session's touch interval must be shorter than its timeout.
func Below(other string) Rule { return order(other, true) }

func order(other string, strict bool) Rule {
	rel, want := "≤ ", "at most "
	if strict {
		rel, want = "< ", "less than "
	}
	return Rule{kind: "order", detail: rel + other, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if o == nil || v.spec.Secret || o.spec.Secret || !o.present() {
			return nil
		}
		a, b, ok := compare(v.value, o.value)
		if !ok || a < b || (a == b && !strict) {
			return nil
		}
		shown := quoteValue(o.value)
		if o.defaulted {
			shown = "default " + shown
		}
		mine := quoteValue(v.value)
		if v.defaulted {
			mine += " (the default)"
		}
		return one(fmt.Sprintf("%s is not %s%s (%s)", mine, want, other, shown),
			fmt.Sprintf("make %s %s%s", v.name(), want, other))
	}}
}

// compare parses a and b as integers, or else as durations.
func compare(a, b string) (int64, int64, bool) {
	x, xerr := strconv.ParseInt(a, 10, 64)
	y, yerr := strconv.ParseInt(b, 10, 64)
	if xerr == nil && yerr == nil {
		return x, y, true
	}
	dx, xerr := time.ParseDuration(a)
	dy, yerr := time.ParseDuration(b)
	return int64(dx), int64(dy), xerr == nil && yerr == nil
}

// Differs fails when this variable and other are both set to the same value,
// such as a "previous" signing key equal to the current one, or two table
// names. The fix offered for a secret is a rotation's (the old value, or
// none); for any other variable, another value.
func Differs(other string) Rule {
	return Rule{kind: "differs", detail: other, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if o == nil || !o.present() || o.value != v.value {
			return nil
		}
		fix := fmt.Sprintf("give %s a value other than %s's", v.name(), other)
		if v.spec.Secret {
			fix = fmt.Sprintf("set %s to the old value after a rotation, or unset it", v.name())
		}
		return one("equals "+other, fix)
	}}
}
