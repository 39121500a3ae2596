package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPieces(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		n      int
		text   string
		want   bool
	}{
		{"whole", "hunter2hunter2", 20, "password hunter2hunter2 rejected", true},
		{"a piece of n bytes", "sk_live_abcdefghij", 14, "key ends in ...ive_abcdefghij", true},
		{"a piece shorter than n", "sk_live_abcdefghij", 14, "key ends in ghij", false},
		{"whole but short is only found in pieces", "abc", 4, "abc", false},
		{"nothing", "hunter2hunter2", 6, "connection refused", false},
		{"n below 1 counts as 1", "z", 0, "fizz", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, NewPieces(tt.secret, tt.n).In(tt.text))
		})
	}
}
