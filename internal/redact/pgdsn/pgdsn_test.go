package pgdsn

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
)

func TestSecrets(t *testing.T) {
	tests := []struct {
		dsn  string
		want string
	}{
		{"postgres://u:p%40ss@h/db", "p@ss"},
		{"postgres://u:plain@h/db", "plain"},
		{"postgres://u@h/db?password=qp", "qp"},
		{"host=h password='it''s' user=u", "it"},
		{"host=h password='a\\'b' user=u", "a'b"},
		{"host=h password=kv user=u", "kv"},
		{"postgres://u:bro ken@h:xx/db", "bro ken"},
	}
	for _, tt := range tests {
		assert.Contains(t, Secrets(tt.dsn), tt.want, tt.dsn)
	}
}

// TestProblem: what is wrong with a connection string is said in a fixed
// text that holds no piece of it, including the pieces pgx quotes (the word
// after a space in a password, a query parameter cut at '&'), and a URL
// whose password pgx would cut at an unescaped '@' or '/' is refused.
func TestProblem(t *testing.T) {
	tests := []struct{ dsn, want, piece string }{
		{"postgres://u:hidden-pw@h/db?sslmode=bogus", "sslmode", "hidden-pw"},
		{"host=h user=app password=correct horse battery staple dbname=shop", "keyword=value", "horse"},
		{"postgres://app@h/shop?password=Zx81&Qm7TsecretTail", "postgres:// URL", "Qm7TsecretTail"},
		{"postgres://app:S3cret@Pa55word-9@127.0.0.1:1/shop", "percent-encode", "Pa55word-9"},
		{"postgres://app:2024/SpringSale9@127.0.0.1:1/shop", "percent-encode", "SpringSale9"},
		{"postgres://u:p@h/db?pool_max_conns=many", "pool_max_conns that is not", "many"},
	}
	for _, tt := range tests {
		_, err := pgxpool.ParseConfig(tt.dsn)
		got := Problem(tt.dsn, err)
		assert.Contains(t, got, tt.want, tt.dsn)
		assert.NotContains(t, got, tt.piece, tt.dsn)
	}
	for _, dsn := range []string{"postgres://u:p%40ss%2Fw@h1:5432,h2:5432/db?sslmode=disable", "postgres://u@[::1]:5432/db",
		"host=h user=u password='a b@c/d'", "postgres:///db?host=/tmp", "postgres://u:p@h/db?application_name=a@b/c"} {
		_, err := pgxpool.ParseConfig(dsn)
		assert.Empty(t, Problem(dsn, err), dsn)
	}
}
