package cryptorates

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// forStates runs test with the in-memory state and with PostgreSQL. state
// returns the fleet's state for one more instance: the one MemoryState, or
// a PostgresState of its own pool on the test's database.
func forStates(t *testing.T, test func(t *testing.T, state func() SharedState)) {
	t.Run("memory", func(t *testing.T) {
		m := NewMemoryState()
		test(t, func() SharedState { return m })
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.DB(t)
		test(t, func() SharedState { return NewPostgresState(newPool(t, url), PostgresStateConfig{}) })
	})
}

// store writes snap to st as the fleet's snapshot.
func store(t *testing.T, st SharedState, snap Snapshot) {
	t.Helper()
	ran, err := st.Exclusive(t.Context(), func(Snapshot) (Snapshot, bool) { return snap, true })
	require.NoError(t, err)
	require.True(t, ran)
}

// load reads st's snapshot.
func load(t *testing.T, st SharedState) Snapshot {
	t.Helper()
	snap, err := st.Load(t.Context())
	require.NoError(t, err)
	return snap
}

// An instance whose clock ran an hour ahead stored its fetch an hour in the
// future: the others served that value as fresh (a negative age), and
// skipped refreshing it, for an hour after it was fetched.
func TestFleetClockAheadDoesNotKeepOldValuesFresh(t *testing.T) {
	forStates(t, func(t *testing.T, state func() SharedState) {
		clk, up := newClock(), newUpstream(t)
		ahead := newClock()
		ahead.Add(time.Hour)
		a, _ := newTestClient(t, Config{Shared: state()}, ahead, up.URL)
		require.Equal(t, TierFresh, rate(t, a, "bitcoin", "usd").Tier)
		require.NoError(t, a.Close())

		b, _ := newTestClient(t, Config{Shared: state()}, clk, up.URL)
		q := rate(t, b, "bitcoin", "usd")
		require.Equal(t, TierFresh, q.Tier, "b serves a's fetch")
		require.EqualValues(t, 1, up.calls.Load())
		require.Equal(t, t0, q.FetchedAt, "fetched no later than b's now")
		require.Zero(t, q.Age)
		stored := load(t, state())
		require.Equal(t, t0, stored.Prices[Pair{"bitcoin", "usd"}].FetchedAt.UTC(), "b repaired the stored snapshot")
		require.Equal(t, t0, stored.AttemptedAt.UTC())

		up.setFactor(1.2) // the market moves
		for _, at := range []time.Duration{4 * time.Minute, 10 * time.Minute} {
			clk.Set(at)
			rate(t, b, "bitcoin", "usd")
			idle(t, b)
		}
		q = rate(t, b, "bitcoin", "usd")
		require.Equal(t, TierFresh, q.Tier)
		require.Equal(t, 72000.0, q.Value, "refreshed once Fresh old by b's clock")
		require.EqualValues(t, 2, up.calls.Load())
	})
}

// A stored Retry-After or attempt a year ahead (an instance's clock far
// ahead, or a hand-edited row) silenced the upstream for the year:
// MaxRetryAfter capped a 429's Retry-After but not the fleet's stored one.
func TestStoredPacingTimesFarAheadAreBounded(t *testing.T) {
	yearAhead := t0.AddDate(1, 0, 0)
	cases := []struct {
		name  string
		snap  Snapshot
		until time.Duration // the bound: MaxRetryAfter, or MinInterval
	}{
		{"not before", Snapshot{NotBefore: yearAhead}, time.Hour},
		{"attempted at", Snapshot{AttemptedAt: yearAhead}, 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forStates(t, func(t *testing.T, state func() SharedState) {
				st := state()
				store(t, st, tc.snap)
				clk, up := newClock(), newUpstream(t)
				c, _ := newTestClient(t, Config{Shared: st, ColdWait: time.Second, MaxRetryAfter: time.Hour}, clk, up.URL)
				for _, at := range []time.Duration{0, tc.until - time.Second} {
					clk.Set(at)
					require.Equal(t, TierStatic, rate(t, c, "bitcoin", "usd").Tier)
					idle(t, c)
					require.Zero(t, up.calls.Load(), "the stored time holds up to its bound, at %v", at)
				}
				stored := load(t, state())
				require.False(t, stored.NotBefore.After(t0.Add(time.Hour)), "repaired: %v", stored.NotBefore)
				require.False(t, stored.AttemptedAt.After(t0), "repaired: %v", stored.AttemptedAt)

				clk.Set(tc.until)
				require.Equal(t, TierFresh, rate(t, c, "bitcoin", "usd").Tier)
				require.EqualValues(t, 1, up.calls.Load())
			})
		})
	}
}

// A stored value that validation would refuse from the upstream (zero,
// negative, absurdly large or small) was adopted as it was: served for the
// whole Fallback window and, as the baseline of the pair, made every real
// value look like a move of 100%.
func TestStoredImplausibleValuesAreNotServed(t *testing.T) {
	for _, v := range []float64{0, -1, 1e308, 1e-300} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			forStates(t, func(t *testing.T, state func() SharedState) {
				st := state()
				store(t, st, Snapshot{Prices: map[Pair]Price{{"bitcoin", "usd"}: {Value: v, FetchedAt: t0}}})
				clk, up := newClock(), newUpstream(t)
				c, logs := newTestClient(t, Config{Shared: st}, clk, up.URL)

				q := rate(t, c, "bitcoin", "usd")
				require.Equal(t, TierFresh, q.Tier)
				require.Equal(t, 60000.0, q.Value, "the upstream's value, not the stored one")
				require.EqualValues(t, 1, up.calls.Load())
				require.Contains(t, logs.String(), "stored values rejected")
				require.Equal(t, 60000.0, load(t, state()).Prices[Pair{"bitcoin", "usd"}].Value)

				up.setFactor(1.2)
				clk.Set(10 * time.Minute)
				rate(t, c, "bitcoin", "usd")
				idle(t, c)
				require.Equal(t, 72000.0, rate(t, c, "bitcoin", "usd").Value, "a move of 20% from a sound baseline")
			})
		})
	}
}

// A stored value with a baseline far from it kept every later upstream
// value out as a move of about 100%.
func TestStoredBaselineFarFromItsValueIsReplaced(t *testing.T) {
	forStates(t, func(t *testing.T, state func() SharedState) {
		st := state()
		store(t, st, Snapshot{Prices: map[Pair]Price{{"bitcoin", "usd"}: {
			Value: 60000, FetchedAt: t0.Add(-6 * time.Minute), Baseline: 1e308, BaselineAt: t0.Add(-6 * time.Minute),
		}}})
		clk, up := newClock(), newUpstream(t)
		up.setFactor(1.1)
		c, _ := newTestClient(t, Config{Shared: st}, clk, up.URL)
		q := rate(t, c, "bitcoin", "usd")
		require.Equal(t, TierFresh, q.Tier)
		require.Equal(t, 66000.0, q.Value, "a move of 10% from the stored value")
	})
}
