package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigDefaultsAreTheSeeds(t *testing.T) {
	c, err := loadConfig(lookupMap(nil))
	require.NoError(t, err)
	require.Equal(t, 8080, c.Port)
	require.False(t, c.Production)
	require.Equal(t, 168*time.Hour, c.SessionTTL)
	require.Equal(t, 2*time.Hour, c.SessionTouchAfter)
	require.Equal(t, 6*time.Hour, c.SessionPruneInterval)
	require.Equal(t, int32(5), c.SessionPoolMaxConns)
	require.Equal(t, 20*time.Second, c.SessionConnectTimeout)
	require.Equal(t, int32(10), c.DBMaxConns)
	require.Equal(t, int32(2), c.DBMinConns)
	require.Equal(t, 30*time.Second, c.DBIdleTimeout)
	require.Equal(t, 30*time.Second, c.DBHealthInterval)
	require.Equal(t, []string{"bitcoin", "ethereum", "solana", "polkadot", "avalanche-2"}, c.RatesCoins)
	require.Equal(t, []string{"usd", "eur", "gbp"}, c.RatesCurrencies)
	require.Equal(t, []time.Duration{5 * time.Minute, 15 * time.Minute, 60 * time.Minute},
		[]time.Duration{c.RatesFresh, c.RatesAcceptable, c.RatesFallback})
	require.Equal(t, 5, c.RatesFailureThreshold)
	require.Equal(t, 5*time.Minute, c.RatesCooldown)
	require.Equal(t, 3*time.Second, c.RatesMinInterval)
	require.Equal(t, 10*time.Second, c.ShutdownTimeout)
	require.Equal(t, time.Duration(0), c.ShutdownDrainDelay)
	require.False(t, c.LogJSON)
	require.Empty(t, c.DatabaseURL)
	require.False(t, c.SessionCache, "SESSION_CACHE is off by default")
}

func TestConfigReportsEveryMalformedVariable(t *testing.T) {
	_, err := loadConfig(lookupMap(map[string]string{
		"PORT": "http", "APP_ENV": "staging", "SESSION_TTL": "7d", "RATES_FAILURE_THRESHOLD": "-1",
		"SESSION_SECRET": "hunter2-hunter2-hunter2-hunter2-x", "SHUTDOWN_DRAIN_DELAY": "-5s", "SESSION_CACHE": "yes",
	}))
	require.Error(t, err)
	for _, name := range []string{"PORT", "APP_ENV", "SESSION_TTL", "RATES_FAILURE_THRESHOLD", "SHUTDOWN_DRAIN_DELAY", "SESSION_CACHE"} {
		require.Contains(t, err.Error(), name)
	}
	require.NotContains(t, err.Error(), "hunter2")
}
