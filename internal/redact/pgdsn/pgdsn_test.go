package pgdsn

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestParseError(t *testing.T) {
	dsn := "postgres://u:hidden-pw@h/db?sslmode=bogus"
	_, err := pgconn.ParseConfig(dsn)
	require.Error(t, err)
	got := ParseError(err, Secrets(dsn))
	assert.NotContains(t, got, "hidden-pw")
	assert.NotContains(t, got, "postgres://")
	assert.Contains(t, got, "sslmode")
}
