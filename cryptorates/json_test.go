package cryptorates

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestQuoteJSONRoundTrip(t *testing.T) {
	cases := []Quote{
		{Coin: "bitcoin", Currency: "usd", Value: 67187.33, Tier: TierFresh, FetchedAt: t0,
			UpdatedAt: t0.Add(-30 * time.Second), Age: 90*time.Second + 250*time.Millisecond, Breaker: BreakerClosed},
		{Coin: "ethereum", Currency: "eur", Value: 3236, Tier: TierStatic, Reference: true, FetchedAt: builtinAsOf,
			UpdatedAt: builtinAsOf, Age: t0.Sub(builtinAsOf) + time.Microsecond, Breaker: BreakerHalfOpen},
		{Coin: "solana", Currency: "gbp", Value: 1e-7, Tier: TierFallback, FetchedAt: t0, Breaker: BreakerOpen},
	}
	for _, q := range cases {
		data, err := json.Marshal(q)
		require.NoError(t, err)
		var got Quote
		require.NoError(t, json.Unmarshal(data, &got), "%s", data)
		require.Equal(t, q, got, "%s", data)
	}
	data, err := json.Marshal(cases[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"coin":"bitcoin","currency":"usd","value":67187.33,"tier":"fresh","reference":false,
		"fetched_at":"2026-01-01T12:00:00Z","updated_at":"2026-01-01T11:59:30Z","age_seconds":90.25,"breaker":"closed"}`, string(data))
	data, err = json.Marshal(cases[2])
	require.NoError(t, err)
	require.NotContains(t, string(data), "updated_at", "a zero UpdatedAt is left out")
}

func TestStatsJSONRoundTrip(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{}, clk, up.URL)
	rate(t, c, "bitcoin", "usd")
	up.set(status(503))
	clk.Add(6 * time.Minute)
	rate(t, c, "bitcoin", "usd")
	idle(t, c)
	st := c.Stats()
	data, err := json.Marshal(st)
	require.NoError(t, err)
	var got Stats
	require.NoError(t, json.Unmarshal(data, &got))
	require.Equal(t, st, got)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for _, k := range []string{"upstream_calls", "failures", "shared_reads", "shared_errors", "breaker",
		"breaker_transitions", "served", "last_failure", "last_success", "last_fetched"} {
		require.Contains(t, m, k, "%s", data)
	}
	require.Equal(t, "closed", m["breaker"])
	require.Equal(t, "server", m["last_failure"])
	require.Equal(t, 1.0, m["failures"].(map[string]any)["server"])
	require.Contains(t, m["breaker_transitions"], "half_open")

	data, err = json.Marshal(Stats{})
	require.NoError(t, err)
	require.NotContains(t, string(data), "last_success", "zero times are left out")
}

// TestOnePrefixPerError walks the package's exported error paths: each
// line of an error says "cryptorates:" once, at its start.
func TestOnePrefixPerError(t *testing.T) {
	var errs []error
	for _, cfg := range []Config{{Plan: "gold"}, {BaseURL: "x"}, {Coins: []string{"a,b"}}, {Fresh: time.Hour},
		{MaxMove: nan()}, {MaxURLLength: 40}, {Static: StaticTable{Rates: map[Pair]float64{{"a", "b"}: -1}}}} {
		_, err := New(cfg)
		errs = append(errs, err)
	}
	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{}, clk, up.URL)
	_, err := c.Rate(t.Context(), "dogecoin", "usd")
	require.ErrorIs(t, err, ErrUnknownPair)
	require.Equal(t, `cryptorates: "dogecoin"/"usd": no rate for this pair`, err.Error())
	errs = append(errs, err)
	_, err = c.Rates(t.Context(), Pair{"dogecoin", "usd"}, Pair{"bitcoin", "jpy"})
	errs = append(errs, err)

	// The shared state: a database that is not there.
	srv := pgtest.NewServer(t, pgtest.Options{})
	dbURL := srv.CreateDB(t)
	st := NewPostgresState(newPool(t, dbURL), PostgresStateConfig{})
	require.NoError(t, srv.Stop())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = st.Load(ctx)
	errs = append(errs, err)
	_, err = st.Exclusive(ctx, func(s Snapshot) (Snapshot, bool) { return s, false })
	errs = append(errs, err)

	for _, err := range errs {
		require.Error(t, err)
		for _, line := range strings.Split(err.Error(), "\n") {
			require.True(t, strings.HasPrefix(line, "cryptorates: "), line)
			require.Equal(t, 1, strings.Count(line, "cryptorates:"), line)
		}
	}
	require.False(t, errors.Is(errs[0], ErrUnknownPair))
}

func nan() float64 { var z float64; return z / z }
