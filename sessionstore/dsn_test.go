package sessionstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An unparsable URL gives the parser's reason, never the URL or its
// password (pgconn quotes the whole connection string).
func TestInvalidURLKeepsThePasswordOut(t *testing.T) {
	_, err := NewPostgresStore(PostgresConfig{URL: "postgres://shop:hidden-pw@db/shop?sslmode=bogus"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sessionstore: invalid PostgreSQL connection string: ")
	assert.Contains(t, err.Error(), "sslmode")
	assert.NotContains(t, err.Error(), "hidden-pw")
	assert.NotContains(t, err.Error(), "postgres://")
}
