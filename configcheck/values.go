package configcheck

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// loaded is one variable's value as the application will use it.
type loaded struct {
	spec  *Var
	value Secret // the set value, else the default; "" when neither
}

// Value returns a variable's value as a string, whatever its type. It
// returns secrets in clear: prefer [Report.Secret] for them.
func (r *Report) Value(name string) string { return r.get(name, "").value.Reveal() }

// Secret returns a variable's value wrapped so that printing, logging and
// marshalling it never shows it.
func (r *Report) Secret(name string) Secret { return r.get(name, "").value }

// Int returns the value of a variable typed by [IntBetween].
func (r *Report) Int(name string) int { return typed(r, name, "int", strconv.Atoi) }

// Duration returns the value of a variable typed by [DurationBetween].
func (r *Report) Duration(name string) time.Duration {
	return typed(r, name, "duration", time.ParseDuration)
}

// Bool returns the value of a variable typed by [Bool].
func (r *Report) Bool(name string) bool { return typed(r, name, "bool", strconv.ParseBool) }

// URL returns the value of a variable typed by [URL], or nil when it has
// neither a value nor a default.
func (r *Report) URL(name string) *url.URL { return typed(r, name, "url", url.Parse) }

// List returns the items of a variable typed by [List] or [PathList],
// trimmed of spaces, without empty items; nil when it has no items.
func (r *Report) List(name string) []string {
	return typed(r, name, "list", func(s string) ([]string, error) {
		var out []string
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	})
}

func (r *Report) get(name, typ string) loaded {
	l, ok := r.vars[name]
	if !ok {
		panic(fmt.Sprintf("configcheck: %s is not declared in the rule set", safeName(name)))
	}
	if t := l.spec.typ(); typ != "" && t != typ {
		panic(fmt.Sprintf("configcheck: %s is declared as %s, not %s", safeName(name), t, typ))
	}
	return l
}

// typed parses a variable's value, else its default, else returns zero.
func typed[T any](r *Report, name, typ string, parse func(string) (T, error)) T {
	l := r.get(name, typ)
	var zero T
	for _, s := range []string{l.value.Reveal(), l.spec.Default} {
		if s == "" {
			continue
		}
		if v, err := parse(s); err == nil {
			return v
		}
	}
	return zero
}
