package configcheck

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEnvFile(t *testing.T) {
	in := "\uFEFF# comment\n" +
		"\n" +
		"PLAIN=value\n" +
		"SPACED = spaced value  \n" +
		"export EXPORTED=1\n" +
		"EMPTY=\n" +
		"COMMENTED=abc # a comment\n" +
		"HASH=abc#def\n" +
		"LEADING_HASH=#notacomment\n" +
		"SPACE_HASH= # only a comment\n" +
		"SINGLE='its' \n" +
		"LITERAL='a\\nb $HOME'\n" +
		"DOUBLE=\"line1\\nline2\\t\\\"q\\\" \\\\ \\$ \\x\" # c\n" +
		"MULTI=\"first\n" +
		"second\"\n" +
		"CRLF=crlf\r\n" +
		"  INDENTED=yes\n" +
		"exporter=plain\n" +
		"LAST=no newline"
	got, err := ParseEnvFile(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"PLAIN":        "value",
		"SPACED":       "spaced value",
		"EXPORTED":     "1",
		"EMPTY":        "",
		"COMMENTED":    "abc",
		"HASH":         "abc#def",
		"LEADING_HASH": "#notacomment",
		"SPACE_HASH":   "",
		"SINGLE":       "its",
		"LITERAL":      `a\nb $HOME`,
		"DOUBLE":       "line1\nline2\t\"q\" \\ $ \\x",
		"MULTI":        "first\nsecond",
		"CRLF":         "crlf",
		"INDENTED":     "yes",
		"exporter":     "plain",
		"LAST":         "no newline",
	}, got)
}

func TestParseEnvFileErrors(t *testing.T) {
	const secret = "s3cr3t-value-xyz"
	cases := []struct {
		name, in, want string
	}{
		{"no equals", "A=1\nJUSTANAME\n", "line 2: expected NAME=value; a value spread over several lines must be quoted"},
		{"bad name", "1A=" + secret, "line 1: expected NAME=value, NAME being a letter"},
		{"duplicate", "A=1\n\nA=" + secret, "line 3: sets a variable already set on line 1"},
		{"unterminated double", "A=\"" + secret + "\nB=2", "line 1: unterminated quoted value"},
		{"unterminated single", "X=1\nA='" + secret, "line 2: unterminated quoted value"},
		{"text after quote", "A=\"x\"" + secret, "line 1: unexpected text after the closing quote"},
		{"nul", "A=1\nB=" + secret + "\x00", "line 2: NUL byte"},
		{"lone CR", "A=1\n\rB=2", "line 2: expected NAME=value, NAME being a letter"},
		{"too large", "A=" + strings.Repeat("x", maxEnvFileSize), "larger than 1 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEnvFile(strings.NewReader(tc.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cr3t", "errors never quote values")
		})
	}
}

// formatEnvFile writes m in the double-quoted form ParseEnvFile reads back.
func formatEnvFile(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, r.Replace(m[k]))
	}
	return b.String()
}

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{
		"A=1\nB=two\n",
		"export A='x y'\n# c\nB=\"a\\nb\" # c\n",
		"A=\"multi\nline\"\r\nB= spaced # comment\n",
		"\uFEFFA=1",
		"A==\nB='\n",
		"A=\"\\",
		"A=1\r\rB",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseEnvFile(strings.NewReader(string(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "configcheck: env file") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		for k, v := range m {
			if k == "" || !isKeyStart(k[0]) {
				t.Fatalf("bad key %q", k)
			}
			if strings.IndexByte(v, 0) >= 0 {
				t.Fatalf("NUL in value of %s", k)
			}
		}
		// Whatever parses round-trips through the quoted form.
		back, err := ParseEnvFile(strings.NewReader(formatEnvFile(m)))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", formatEnvFile(m), err)
		}
		if len(m) == 0 {
			m = map[string]string{}
		}
		if fmt.Sprint(back) != fmt.Sprint(m) {
			t.Fatalf("round trip: got %q, want %q", back, m)
		}
	})
}
