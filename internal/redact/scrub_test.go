package redact

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestScrub(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"connection refused", "connection refused"},
		{"dial postgres://app:pw@db:5432/x?sslmode=disable: timeout", "dial postgres://[redacted] timeout"},
		{"dial postgresql://db.internal/market failed", "dial postgresql://[redacted] failed"},
		{`Get "https://user:tok@api.example/v1?key=abc": EOF`, `Get "https://[redacted]": EOF`},
		{"host=db user=app password=hunter2 dbname=m", "host=db user=app password=[redacted] dbname=m"},
		{"PGPASSWORD=x123 psql failed", "PGPASSWORD=[redacted] psql failed"},
		{`sslpassword='a b c' rejected`, `sslpassword=[redacted] rejected`},
		{`{"client_secret": "zzz", "id": 1}`, `{"client_secret": [redacted], "id": 1}`},
		{"Authorization: Bearer abc.def.ghi", "Authorization: [redacted]"},
		{"authorization=Token abc123 sent", "authorization=[redacted] sent"},
		{"retry with Bearer abc.def", "retry with Bearer [redacted]"},
		{"x-api-key: k-123 denied", "x-api-key: [redacted] denied"},
		{"token expired", "token expired"},
		{"password authentication failed for user \"app\"", "password authentication failed for user \"app\""},
		// A redacted quoted value keeps what ended it, on every pass.
		{`token:"",`, `token:[redacted],`},
		{`token:[redacted],`, `token:[redacted],`},
		// A value that only starts like a redaction is redacted whole.
		{"password=[redacted]hunter2 x", "password=[redacted] x"},
		// pgx accepts a URL password with '"' or '<': the user info runs to
		// the last '@' of the URL's text.
		{`connect postgres://app:Xy"Zw9kLm2@db.internal:5432/shop failed`, "connect postgres://[redacted] failed"},
		{`connect postgres://app:Xy<Zw9kLm2@db.internal:5432/shop failed`, "connect postgres://[redacted] failed"},
		{`dial postgres://app:a@b"c'd@db/x: refused`, "dial postgres://[redacted] refused"},
		// A quoted value ends at its closing quote, not an escaped one.
		{`connect host=db password='Xy\'Zw9k Lm2pQr' user=app failed`, "connect host=db password=[redacted] user=app failed"},
		{`{"password": "Xy\"Zw9k Lm2pQr", "id": 1}`, `{"password": [redacted], "id": 1}`},
		// A redacted quoted value that joins a URL to an '@' after it.
		{`x://a'password='b c',@d e`, "x://[redacted] e"},
		// A word that looks like a scheme credential does not hide a URL or
		// a key/value pair after it.
		{`Bearer postgres://app:Xy"Zw9k@db/x`, "Bearer [redacted]://[redacted]"},
		{`Bearer password='Xy\'Zw9k Lm' x`, "Bearer [redacted][redacted] x"},
	} {
		assert.Equal(t, tc.want, Scrub(tc.in), "Scrub(%q)", tc.in)
	}
}

func TestScrubBoundsLength(t *testing.T) {
	got := Scrub(strings.Repeat("é", 1000))
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, len(got), MaxScrubbed)
	assert.True(t, strings.HasSuffix(got, "…"))
}

// FuzzScrub checks that Scrub never panics, stays valid UTF-8 and
// bounded, is idempotent, and never lets a planted password through.
func FuzzScrub(f *testing.F) {
	for _, s := range []struct{ prefix, secret string }{
		{"failed to connect to host=db user=app", "hunter2hunter2"},
		{"dial postgres://a:b@c/d", "Zq9s8d7f6g"},
		{`{"token": "`, "abcdefgh1234"},
		{"Authorization: Bearer", "eyJhbGciOiJIUzI1"},
		{"\xff\xfe invalid utf8", "secretsecret"},
		{"", "aaaaaaaaaaaa"},
		{strings.Repeat("dial postgres://u:p@h/d ", 20), "longinputsecret"},
		{`connect postgres://app:Xy"Zw9kLm2@db.internal:5432/shop failed`, "Qw8er7ty6u"},
		{`connect postgres://app:Xy<Zw9kLm2@db.internal:5432/shop failed`, "Qw8er7ty6u"},
		{`connect host=db password='Xy\'Zw9k Lm2pQr' user=app failed`, "Qw8er7ty6u"},
		{`x://a'password='b c',@d`, "Qw8er7ty6u"},
		{"Bearer", "Qw8er7ty6u"},
	} {
		f.Add(s.prefix, s.secret)
	}
	f.Fuzz(func(t *testing.T, prefix, secret string) {
		out := Scrub(prefix)
		if !utf8.ValidString(out) {
			t.Fatalf("Scrub(%q) = %q: invalid UTF-8", prefix, out)
		}
		if len(out) > MaxScrubbed {
			t.Fatalf("Scrub(%q) is %d bytes long", prefix, len(out))
		}
		// Idempotent while no cut happens (a cut may split a URL, which a
		// second pass then redacts whole). A redaction at most triples a
		// text's length.
		if again := Scrub(out); len(prefix)*3 < MaxScrubbed && again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}

		// The password planted as a key=value pair, in a URL's user info
		// after a '"' and before a '<', and in a quoted value after an
		// escaped quote.
		plants := []string{" password=%s tail", ` postgres://app:Xy"%s<@db/x tail`, ` password='Xy\'%s Lm' tail`}
		lower := strings.ToLower(secret)
		if len(secret) < 8 || !isAlnum(secret) || strings.Contains(strings.ToLower(prefix), lower) ||
			strings.Contains(strings.ToLower(Redacted+strings.Join(plants, "")), lower) {
			return
		}
		for _, plant := range plants {
			in := prefix + strings.Replace(plant, "%s", secret, 1)
			if got := Scrub(in); strings.Contains(strings.ToLower(got), lower) {
				t.Fatalf("Scrub(%q) = %q: the password leaked", in, got)
			}
		}
	})
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func BenchmarkScrub(b *testing.B) {
	msg := `failed to connect to postgres://app:pw@db:5432/market (host=db user=app password=hunter2): dial tcp 10.0.0.1:5432: connect: connection refused`
	b.ReportAllocs()
	for b.Loop() {
		_ = Scrub(msg)
	}
}

// TestScrubLongText: a megabytes-long error text is scrubbed from its
// bounded prefix (FuzzScrub's workers stalled on such inputs, 0.25 s a
// megabyte per pattern), still without a secret and within MaxScrubbed.
func TestScrubLongText(t *testing.T) {
	long := "connect: password=hunter2hunter2 " + strings.Repeat("postgres://u:pw-in-url@h/d ", 300_000)
	got := Scrub(long)
	if len(got) > MaxScrubbed || !utf8.ValidString(got) {
		t.Fatalf("Scrub of %d bytes gave %d bytes (valid UTF-8: %v)", len(long), len(got), utf8.ValidString(got))
	}
	for _, secret := range []string{"hunter2hunter2", "pw-in-url"} {
		if strings.Contains(got, secret) {
			t.Fatalf("Scrub leaked %q: %q", secret, got)
		}
	}
	if cut := long[:maxScrubInput+50]; Scrub(cut) != got {
		t.Fatalf("a long text and its first %d bytes scrub differently", len(cut))
	}
}

// TestScrubCutDropsTheSplitWord: a long text cut inside a URL's user info,
// after a '"' and before the '@', shows nothing of the part after the '"':
// the cut drops the word it splits.
func TestScrubCutDropsTheSplitWord(t *testing.T) {
	dsn := ` postgres://app:Xy"Zw9kLm2pQr@db/x failed`
	long := "x://" + strings.Repeat("a", maxScrubInput-4-len(` postgres://app:Xy"Zw9k`)) + dsn
	got := Scrub(long)
	assert.NotContains(t, got, "Zw9k")
	assert.NotContains(t, got, "postgres", "the split word is dropped")
}
