package configcheck

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// markerRules puts every rule on a secret variable, with the cross rules'
// partners secret too.
func markerRules() *RuleSet {
	hour := time.Hour
	return &RuleSet{EnvVar: "ENV", Prefixes: []string{"S_"}, Vars: []Var{
		{Name: "ENV", Rules: []Rule{OneOf("development", "production")}},
		{Name: "S_REQ", Secret: true, Rules: []Rule{Required(), NonEmpty(), MinLen(40), Trimmed(), Strong()}},
		{Name: "S_PREV", Secret: true, Rules: []Rule{Differs("S_REQ"), RequiredIf("S_ONE", "a"), RequiredIf("S_REQ")}},
		{Name: "S_SK", Secret: true, Rules: []Rule{StripeKey("sk"), StripeKeyPair("S_PK")}},
		{Name: "S_PK", Secret: true, Rules: []Rule{StripeKey("pk")}},
		{Name: "S_BREVO", Secret: true, Rules: []Rule{BrevoKey()}},
		{Name: "S_ONE", Secret: true, Rules: []Rule{OneOf("a", "b")}},
		{Name: "S_INT", Secret: true, Rules: []Rule{IntBetween(0, 10), NotAbove("S_INT2")}},
		{Name: "S_INT2", Secret: true, Rules: []Rule{IntBetween(0, 10)}},
		{Name: "S_DUR", Secret: true, Rules: []Rule{DurationBetween(time.Second, hour), NotAbove("S_DUR2"), Below("S_DUR2")}},
		{Name: "S_DUR2", Secret: true, Rules: []Rule{DurationBetween(time.Second, hour)}},
		{Name: "S_BOOL", Secret: true, Rules: []Rule{Bool()}},
		{Name: "S_URL", Secret: true, Rules: []Rule{URL("https")}},
		{Name: "S_LIST", Secret: true, Rules: []Rule{List(), Match(`^[a-z,]*$`, "a list of words")}},
		{Name: "S_PATHS", Secret: true, Rules: []Rule{PathList()}},
		{Name: "S_PATH", Secret: true, Rules: []Rule{Path(), Disjoint("S_PATHS")}},
		{Name: "S_DSN", Secret: true, Rules: []Rule{PostgresDSN()}},
	}}
}

// markerValue embeds marker in a value shaped to reach a rule's messages.
func markerValue(r *rand.Rand, marker string) string {
	shapes := []string{
		"%s", "sk_live_%s", "sk_test_%s", "pk_live_%s", "xkeysib-%s", "1%s", "%s5", "5s%s", "%ss",
		"true%s", "https://%s.example/x", "http://h/%s", "a,%s,,%s", "/srv/%s,/srv/%s/../x", "/srv/%s", "rel/%s",
		"postgres://u:%s@h/db?sslmode=disable", "postgres://u:%s@h:x/db", "postgres://u:p@h/db?pool_%s=1",
		"host=h password=%s sslmode=bogus", "postgres://u:%s@h/db?pool_max_conns=0&pool_min_conns=9",
		" %s\n", "%s\x01", "%s%s%s", "changeme%s", "-----BEGIN KEY-----\n%s\n%s==\n-----END KEY-----",
	}
	s := shapes[r.IntN(len(shapes))]
	return strings.ReplaceAll(s, "%s", marker)
}

func randomMarker(r *rand.Rand) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 14)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return "Q" + string(b)
}

// envFileLine writes one KEY=value line in a random quoting, unquoted
// (multi-line values then spill onto lines of their own) included.
func envFileLine(r *rand.Rand, k, v string) string {
	switch r.IntN(4) {
	case 0:
		return k + "=" + v + "\n"
	case 1:
		return k + "='" + v + "'\n"
	case 2:
		return k + "=\"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + "\"\n"
	}
	return k + "=\"" + v + "\n" // unterminated, or closed by a later quote
}

// outputOf gathers every output of every entry point for one configuration:
// reports in every form, errors, panics, the typed accessors' panics, and
// Command's stdout and stderr in text and JSON, from the environment and
// from an env file.
func outputOf(t *testing.T, r *rand.Rand, m map[string]string, files map[string]string, marker string) string {
	var b bytes.Buffer
	rs := markerRules()
	src := Map(m)
	src.ReadFile = func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, errors.New("read " + p + ": " + marker) // a reader that quotes what it read
	}
	for _, rep := range []*Report{rs.Check(Production, src), rs.Check(Development, src), rs.Load(src)} {
		b.WriteString(renderReport(t, rep))
		for _, v := range rs.Vars {
			fmt.Fprintf(&b, "%v %+v %#v %s\n", rep.Secret(v.Name), rep.Secret(v.Name), rep.Secret(v.Name), rep.Secret(v.Name))
			for _, get := range []func(string){
				func(n string) { rep.Int(n) }, func(n string) { rep.Duration(n) }, func(n string) { rep.Bool(n) },
				func(n string) { rep.URL(n) }, func(n string) { rep.List(n) },
			} {
				b.WriteString(panicText(func() { get(v.Name) }))
			}
		}
	}
	var file strings.Builder
	for k, v := range m {
		file.WriteString(envFileLine(r, k, v))
	}
	path := filepath.Join(t.TempDir(), "x.env")
	require.NoError(t, os.WriteFile(path, []byte(file.String()), 0o600))
	_, err := ParseEnvFile(strings.NewReader(file.String()))
	fmt.Fprintf(&b, "%v\n", err)
	for _, args := range [][]string{
		nil, {"--format", "json"}, {"--env-file", path}, {"--env-file", path, "--format", "json", "--env", "production"},
		{"--" + marker}, {"--format", marker}, {"--env", marker}, {marker}, {"--env-file", marker}, {"--list"},
	} {
		var o, e bytes.Buffer
		rs.Command(args, src, &o, &e)
		b.Write(o.Bytes())
		b.Write(e.Bytes())
	}
	return b.String()
}

func renderReport(t *testing.T, rep *Report) string {
	var b bytes.Buffer
	b.WriteString(renderAll(t, rep))
	if err := rep.Err(); err != nil {
		fmt.Fprintf(&b, "%v %+v\n", err, err)
	}
	return b.String()
}

// panicText runs f and returns what it panicked with, or "".
func panicText(f func()) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}

// TestMarkerNeverShown is the property behind "no error path ever quotes a
// secret": secret values carrying a random marker, in every shape that
// reaches a rule's message, given directly, through NAME_FILE (and a reader
// whose errors quote the marker), through both at once, and through an env
// file in every quoting, never show the marker in any output of any entry
// point.
func TestMarkerNeverShown(t *testing.T) {
	clearPGEnv(t)
	r := rand.New(rand.NewPCG(12, 2))
	for i := range 150 {
		marker := randomMarker(r)
		m := map[string]string{"ENV": []string{"production", "development"}[r.IntN(2)]}
		files := map[string]string{}
		for _, v := range markerRules().Vars[1:] {
			val := markerValue(r, marker)
			switch r.IntN(6) {
			case 0:
				m[v.Name+FileSuffix] = "/run/" + v.Name
				files["/run/"+v.Name] = val
			case 1:
				m[v.Name+FileSuffix] = "/missing/" + v.Name
			case 2:
				continue
			case 3: // both set: the rules judge NAME's value
				m[v.Name] = val
				m[v.Name+FileSuffix] = "/run/" + v.Name
				files["/run/"+v.Name] = markerValue(r, marker)
			default:
				m[v.Name] = val
			}
		}
		if out := outputOf(t, r, m, files, marker); strings.Contains(out, marker) {
			t.Fatalf("iteration %d: the marker shows:\n%s", i, out)
		}
	}
}

// TestEnvFileErrorNeverQuotesAPEMLine is the regression test of the defect:
// ParseEnvFile on an unquoted multi-line PEM returned
// `env file line 3: expected "=" after MIIEv…`.
func TestEnvFileErrorNeverQuotesAPEMLine(t *testing.T) {
	in := "APP_ENV=production\nSESSION_SECRET=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw\nMIIEvQIB=ADANBgkqhkiG9w0BAQEFAASCBKcw\n-----END PRIVATE KEY-----\n"
	_, err := ParseEnvFile(strings.NewReader(in))
	require.EqualError(t, err, "configcheck: env file line 3: expected NAME=value; a value spread over several lines must be quoted")

	dup := "A=1\nMIIEvQIB=x\nMIIEvQIB=y\n"
	_, err = ParseEnvFile(strings.NewReader(dup))
	require.EqualError(t, err, "configcheck: env file line 3: sets a variable already set on line 2")
}

// FuzzMarkerNeverShown is TestMarkerNeverShown with the values' shapes and
// the env file's quoting chosen by the fuzzer.
func FuzzMarkerNeverShown(f *testing.F) {
	f.Add(uint64(1), []byte("x"))
	f.Add(uint64(2), []byte("=\n'\"#"))
	f.Fuzz(func(t *testing.T, seed uint64, extra []byte) {
		r := rand.New(rand.NewPCG(seed, 7))
		marker := randomMarker(r)
		m := map[string]string{"ENV": "production"}
		for _, v := range markerRules().Vars[1:] {
			m[v.Name] = markerValue(r, marker) + string(extra)
		}
		if out := outputOf(t, r, m, nil, marker); strings.Contains(out, marker) {
			t.Fatalf("the marker shows:\n%s", out)
		}
	})
}
