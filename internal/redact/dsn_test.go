package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDSNSecrets(t *testing.T) {
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
		assert.Contains(t, DSNSecrets(tt.dsn), tt.want, tt.dsn)
	}
}
