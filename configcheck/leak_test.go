package configcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// secretVars are the marketplace's secret variables with the prefixes their
// rules document (and reports may therefore show).
var secretVars = []struct {
	name     string
	prefixes []string
}{
	{"DATABASE_URL", []string{"postgres://", "postgresql://"}},
	{"SESSION_SECRET", nil},
	{"SESSION_SECRET_PREVIOUS", nil},
	{"RATES_API_KEY", nil},
	{"STRIPE_SECRET_KEY", []string{"sk_live_", "sk_test_"}},
	{"STRIPE_PUBLISHABLE_KEY", []string{"pk_live_", "pk_test_"}},
	{"BREVO_API_KEY", []string{"xkeysib-"}},
}

// renderAll renders a report every way a program might: text, JSON, error,
// fmt verbs on the report, its problems and its secrets, and slog with the
// text and JSON handlers.
func renderAll(t testing.TB, rep *Report) string {
	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b))
	require.NoError(t, rep.WriteJSON(&b))
	js, err := json.Marshal(rep)
	require.NoError(t, err)
	b.Write(js)
	if err := rep.Err(); err != nil {
		fmt.Fprintf(&b, "%v %+v %s %q\n", err, fmt.Errorf("wrapped: %w", err), err, err)
	}
	fmt.Fprintf(&b, "%v %+v %#v %s\n", rep, rep, rep, rep)
	fmt.Fprintf(&b, "%v %+v %#v\n", *rep, *rep, *rep)
	fmt.Fprintf(&b, "%v %+v %#v\n", rep.Problems, rep.Problems, rep.Problems)
	logger := slog.New(slog.NewTextHandler(&b, nil))
	jlogger := slog.New(slog.NewJSONHandler(&b, nil))
	for _, l := range []*slog.Logger{logger, jlogger} {
		l.Info("check", "report", rep, "problems", rep.Problems)
		for _, p := range rep.Problems {
			l.Warn("problem", "p", p)
		}
	}
	for name := range rep.vars {
		s := rep.Secret(name)
		fmt.Fprintf(&b, "%v %+v %#v %s %q %x %X %d %10.3s %v\n", s, s, s, s, s, s, s, s, s, []Secret{s})
		fmt.Fprintf(&b, "%+v %#v\n", struct{ s Secret }{s}, struct{ S Secret }{s})
		fmt.Fprint(&b, s, s.String(), s.GoString())
		sj, err := json.Marshal(map[string]any{"s": s, "list": []Secret{s}})
		require.NoError(t, err)
		b.Write(sj)
		st, err := s.MarshalText()
		require.NoError(t, err)
		b.Write(st)
		for _, l := range []*slog.Logger{logger, jlogger} {
			l.Info("secret", "s", s, slog.Any("any", s), slog.Group("g", "s", s))
		}
	}
	return b.String()
}

// cjk maps a byte to a rune of the CJK block, which no report text uses:
// any such rune in the output is a piece of a secret.
func cjk(b byte) rune { return rune(0x4E00 + int(b)) }

func hasCJK(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x4E00+255 {
			return true
		}
	}
	// Escaped forms, in case an encoder escaped them.
	return strings.Contains(s, `\u4e`) || strings.Contains(s, `\u4E`)
}

// leakInput builds a configuration whose secret values are a documented
// prefix (or none) followed by a body that no report text can contain.
func leakInput(r *rand.Rand, body func() string) (Source, map[string]string) {
	m := validProduction()
	secrets := map[string]string{}
	files := map[string]string{}
	for _, sv := range secretVars {
		if r.IntN(8) == 0 {
			delete(m, sv.name)
			continue
		}
		var v string
		switch {
		case sv.name == "DATABASE_URL" && r.IntN(2) == 0:
			opts := []string{"sslmode=disable", "sslmode=verify-full", "pool_max_conns=0", "pool_min_conns=9", "pool_max_conn_lifetime=0s", "pool_max_con=1", "port=x", ""}
			v = "postgres://app:" + body() + "@db.internal:5432/app?" + opts[r.IntN(len(opts))] + "&" + opts[r.IntN(len(opts))]
		case len(sv.prefixes) > 0 && r.IntN(4) != 0:
			v = sv.prefixes[r.IntN(len(sv.prefixes))] + body()
		default:
			v = body()
		}
		switch r.IntN(6) {
		case 0: // through NAME_FILE
			delete(m, sv.name)
			path := "/run/secrets/" + strings.ToLower(sv.name)
			m[sv.name+FileSuffix] = path
			files[path] = v
		case 1: // both set
			m[sv.name] = v
			m[sv.name+FileSuffix] = "/run/secrets/x"
			files["/run/secrets/x"] = v
		default:
			m[sv.name] = v
		}
		secrets[sv.name] = v
	}
	// Cross-rule partners and typos of secret names.
	if r.IntN(3) == 0 {
		m["STRIPE_SECRET_KY"] = "sk_live_" + body()
	}
	src := Map(m)
	src.ReadFile = func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, fmt.Errorf("no file %s", p)
	}
	return src, secrets
}

// TestSecretsNeverLeak is the property: for random secret values, in every
// environment, no rendering of the report shows a character of a secret
// beyond its documented prefix.
func TestSecretsNeverLeak(t *testing.T) {
	clearPGEnv(t)
	r := rand.New(rand.NewPCG(1, 2))
	body := func() string {
		n := 1 + r.IntN(60)
		var b strings.Builder
		for range n {
			switch r.IntN(10) {
			case 0:
				b.WriteByte(" \n\t:@/?=&'\",#"[r.IntN(13)])
			default:
				b.WriteRune(cjk(byte(r.IntN(256))))
			}
		}
		return b.String()
	}
	for i := range 300 {
		src, _ := leakInput(r, body)
		for _, env := range []Env{Production, Development} {
			rep := testRules().Check(env, src)
			out := renderAll(t, rep)
			if hasCJK(out) {
				t.Fatalf("iteration %d, %s: a secret's body shows in the output:\n%s", i, env, out)
			}
		}
	}
}

// TestSecretsNeverLeakASCII is the same property with ordinary ASCII
// secrets: neither the whole value nor any 8 characters of what follows the
// documented prefix show. (Shorter pieces, and the prefix plus a character
// or two, occur in the report's own texts by chance: "postgres://app…".)
func TestSecretsNeverLeakASCII(t *testing.T) {
	clearPGEnv(t)
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.~!*"
	body := func() string {
		n := 8 + r.IntN(48)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for i := range 200 {
		src, secrets := leakInput(r, body)
		for _, env := range []Env{Production, Development} {
			out := renderAll(t, testRules().Check(env, src))
			for name, v := range secrets {
				p := ""
				for _, sv := range secretVars {
					if sv.name == name {
						p = matchedPrefix(v, sv.prefixes)
					}
				}
				if strings.HasPrefix(v, "postgres://app:") {
					// The DSN's structure (options, host) may be named; its
					// password is what must not show.
					v = strings.TrimPrefix(v, "postgres://app:")
					v = v[:strings.Index(v, "@db.internal")]
					p = ""
				}
				if strings.Contains(out, v) {
					t.Fatalf("iteration %d, %s: %s shows its value:\n%s", i, env, name, out)
				}
				v = v[len(p):]
				for j := 0; j+8 <= len(v); j++ {
					if strings.Contains(out, v[j:j+8]) {
						t.Fatalf("iteration %d, %s: %s shows %q of its value:\n%s", i, env, name, v[j:j+8], out)
					}
				}
			}
		}
	}
}

// FuzzSecretsNeverLeak feeds arbitrary bytes as secret values: bytes become
// CJK runes (never in report texts) except a few structural ASCII bytes, so
// any CJK rune in any rendering is a leak.
func FuzzSecretsNeverLeak(f *testing.F) {
	f.Add([]byte("hunter2"), uint8(0), uint8(0), uint8(0))
	f.Add([]byte("abc:def@host/db?sslmode=disable"), uint8(0), uint8(1), uint8(1))
	f.Add([]byte("x"), uint8(4), uint8(1), uint8(2))
	f.Add([]byte{}, uint8(5), uint8(3), uint8(3))
	f.Add([]byte("pool_max_conns=0&x"), uint8(0), uint8(2), uint8(4))
	f.Fuzz(func(t *testing.T, raw []byte, which, prefix, how uint8) {
		sv := secretVars[int(which)%len(secretVars)]
		var b strings.Builder
		for _, c := range raw {
			if strings.IndexByte(" \n\t:@/?=&'\",#%", c) >= 0 {
				b.WriteByte(c)
			} else {
				b.WriteRune(cjk(c))
			}
		}
		body := b.String()
		v := body
		if len(sv.prefixes) > 0 && prefix%3 != 0 {
			v = sv.prefixes[int(prefix)%len(sv.prefixes)] + body
		}
		if sv.name == "DATABASE_URL" && prefix%3 == 2 {
			v = "postgres://app:" + body + "@db/app?" + string(raw)
			if !utf8.ValidString(string(raw)) || hasCJK(string(raw)) {
				v = "postgres://app:" + body + "@db/app"
			}
		}
		m := validProduction()
		files := map[string]string{}
		switch how % 3 {
		case 0:
			m[sv.name] = v
		case 1:
			delete(m, sv.name)
			m[sv.name+FileSuffix] = "/s"
			files["/s"] = v
		case 2:
			m[sv.name] = v
			m[sv.name+FileSuffix] = "/s"
			files["/s"] = v
		}
		src := Map(m)
		src.ReadFile = func(p string) ([]byte, error) { return []byte(files[p]), nil }
		for _, env := range []Env{Production, Development} {
			out := renderAll(t, testRules().Check(env, src))
			if hasCJK(out) {
				t.Fatalf("%s: %s leaks:\n%s", env, sv.name, out)
			}
		}
	})
}
