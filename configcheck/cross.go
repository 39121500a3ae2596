package configcheck

import (
	"fmt"
	"strconv"
	"time"
)

// Mode is one mode of a pair of keys, such as Stripe's "live" mode:
// a secret key starting with sk_live_ and a publishable key with pk_live_.
type Mode struct {
	Name        string // "live"
	Prefix      string // prefix of this variable's value: "sk_live_"
	OtherPrefix string // prefix of the other variable's value: "pk_live_"
}

// SameMode fails when this variable and other are both set and their
// prefixes place them in different modes (a test secret key with a live
// publishable key). Values matching no mode are left to Prefix rules.
func SameMode(other string, modes ...Mode) Rule {
	ms := append([]Mode(nil), modes...)
	var mine, theirs []string
	for _, m := range ms {
		mine = append(mine, m.Prefix)
		theirs = append(theirs, m.OtherPrefix)
	}
	return Rule{kind: "same-mode", detail: other, prefixes: mine, cross: other, crossPrefixes: theirs, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if o == nil || !o.present() {
			return nil
		}
		var a, b *Mode
		for i := range ms {
			m := &ms[i]
			if a == nil && hasPrefix(v.res.value, m.Prefix) {
				a = m
			}
			if b == nil && hasPrefix(o.res.value, m.OtherPrefix) {
				b = m
			}
		}
		if a == nil || b == nil || a.Name == b.Name {
			return nil
		}
		return one(fmt.Sprintf("is a %s key (%s) but %s is a %s key (%s)", a.Name, a.Prefix, other, b.Name, b.OtherPrefix),
			"take both keys from the same mode of the provider's dashboard")
	}}
}

func hasPrefix(s, p string) bool { return p != "" && len(s) >= len(p) && s[:len(p)] == p }

// NotAbove fails when the value is greater than other's (or other's
// Default when other is unset). Both are compared as integers, or else as
// durations; values that parse as neither are left to their own rules.
// Use it for DB_MIN_CONNS ≤ DB_MAX_CONNS or RATES_FRESH ≤ RATES_ACCEPTABLE.
func NotAbove(other string) Rule {
	return Rule{kind: "order", detail: "≤ " + other, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if o == nil || v.spec.Secret || o.spec.Secret {
			return nil
		}
		ov, shown := o.res.value, ""
		if !o.present() {
			ov, shown = o.spec.Default, "default "
		}
		if ov == "" {
			return nil
		}
		a, aerr := strconv.ParseInt(v.res.value, 10, 64)
		b, berr := strconv.ParseInt(ov, 10, 64)
		if aerr != nil || berr != nil {
			da, aerr := time.ParseDuration(v.res.value)
			db, berr := time.ParseDuration(ov)
			if aerr != nil || berr != nil {
				return nil
			}
			a, b = int64(da), int64(db)
		}
		if a <= b {
			return nil
		}
		return one(fmt.Sprintf("%s is above %s (%s%s)", quoteValue(v.res.value), other, shown, quoteValue(ov)),
			fmt.Sprintf("make %s at most %s", v.name(), other))
	}}
}

// Differs fails when this variable and other are both set to the same value,
// such as a "previous" signing key equal to the current one.
func Differs(other string) Rule {
	return Rule{kind: "differs", detail: other, check: func(c *checkCtx, v *varState) []finding {
		o := c.other(other)
		if o == nil || !o.present() || o.res.value != v.res.value {
			return nil
		}
		return one("equals "+other, fmt.Sprintf("set %s to the old value after a rotation, or unset it", v.name()))
	}}
}
