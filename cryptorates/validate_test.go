package cryptorates

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodBody is a complete healthy response with bitcoin/usd replaced by btc.
func goodBody(btc string) string {
	var b strings.Builder
	b.WriteString("{")
	i := 0
	for coin, base := range basePrices {
		if i > 0 {
			b.WriteString(",")
		}
		i++
		usd := fmt.Sprint(base)
		if coin == "bitcoin" {
			usd = btc
		}
		fmt.Fprintf(&b, `%q:{"usd":%s,"eur":%v,"gbp":%v,"last_updated_at":%d}`, coin, usd, base*0.9, base*0.8, t0.Unix())
	}
	b.WriteString("}")
	return b.String()
}

func TestValidationKeepsLastGoodValue(t *testing.T) {
	cases := []struct {
		name       string
		body       string
		othersKept bool // the other pairs of the response are taken
	}{
		{"malformed JSON", `{"bitcoin":{"usd":`, false},
		{"not an object", `[1,2,3]`, false},
		{"string value", strings.Replace(goodBody("61000"), `"usd":61000`, `"usd":"61000"`, 1), false},
		{"non-finite", goodBody("1e999"), false},
		{"missing coin", strings.Replace(goodBody("61000"), `"bitcoin"`, `"bitcoin-x"`, 1), true},
		{"missing currency", strings.Replace(goodBody("61000"), `"usd":61000,`, ``, 1), true},
		{"zero", goodBody("0"), true},
		{"negative", goodBody("-60000"), true},
		{"null", goodBody("null"), true},
		{"up 60%", goodBody("96000"), true},
		{"down 60%", goodBody("24000"), true},
		{"empty object", `{}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk, up := newClock(), newUpstream(t)
			c, logs := newTestClient(t, Config{}, clk, up.URL)
			require.Equal(t, 60000.0, rate(t, c, "bitcoin", "usd").Value)

			up.set(body(tc.body))
			up.setFactor(1.1)
			clk.Add(6 * time.Minute)
			rate(t, c, "bitcoin", "usd") // acceptable: starts the refresh
			idle(t, c)
			require.EqualValues(t, 2, up.calls.Load())

			q := rate(t, c, "bitcoin", "usd")
			require.Equal(t, 60000.0, q.Value, "last good value kept")
			require.Equal(t, TierAcceptable, q.Tier)
			require.Equal(t, uint64(1), c.Stats().Failures.Invalid)
			require.Contains(t, logs.String(), "level=WARN")
			if tc.othersKept {
				require.Contains(t, logs.String(), "last good values kept")
				assert.Equal(t, TierFresh, rate(t, c, "solana", "usd").Tier, "the valid pairs are taken")
				assert.Equal(t, BreakerClosed, c.Stats().Breaker)
			} else {
				assert.Equal(t, TierAcceptable, rate(t, c, "solana", "usd").Tier)
			}
		})
	}
}

func TestValidationAcceptsModerateMovesAndReanchors(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{MaxMove: 0.2}, clk, up.URL)
	rate(t, c, "bitcoin", "usd")

	up.set(body(goodBody("70000"))) // +16.7%: within 20%
	clk.Add(6 * time.Minute)
	rate(t, c, "bitcoin", "usd")
	idle(t, c)
	require.Equal(t, 70000.0, rate(t, c, "bitcoin", "usd").Value)

	up.set(body(goodBody("140000"))) // +100%: rejected while 70000 is servable
	clk.Add(6 * time.Minute)
	rate(t, c, "bitcoin", "usd")
	idle(t, c)
	require.Equal(t, 70000.0, rate(t, c, "bitcoin", "usd").Value)

	// Once the last good value is past Fallback there is nothing to compare
	// with: the new level is taken rather than static forever.
	clk.Add(time.Hour)
	q := rate(t, c, "bitcoin", "usd")
	require.Equal(t, TierFresh, q.Tier)
	require.Equal(t, 140000.0, q.Value)

	// A negative MaxMove turns the check off.
	c2, _ := newTestClient(t, Config{MaxMove: -1}, newClock(), up.URL)
	require.Equal(t, 140000.0, rate(t, c2, "bitcoin", "usd").Value)
}

// Issue 12 item 9, observed: a first fetch of 1e300 for bitcoin/usd was
// served as fresh although the static table says 93500.
func TestFirstFetchOf1e300IsNotServedAsFresh(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	up.set(body(goodBody("1e300")))
	c, logs := newTestClient(t, Config{}, clk, up.URL)
	q := rate(t, c, "bitcoin", "usd")
	require.Equal(t, TierStatic, q.Tier)
	require.Equal(t, 93500.0, q.Value)
	require.True(t, q.Reference)
	require.Contains(t, logs.String(), "first value 1e+300 is not within 10x of the static rate 93500")
	require.Equal(t, TierFresh, rate(t, c, "solana", "usd").Tier, "the plausible pairs are taken")
	require.Equal(t, uint64(1), c.Stats().Failures.Invalid)

	// Within the factor, either way, a first value is taken; a pair the
	// table does not hold has no reference to check against.
	for _, v := range []string{"9350", "935000"} {
		c2, _ := newTestClient(t, Config{}, newClock(), up.URL)
		up.set(body(goodBody(v)))
		require.Equal(t, TierFresh, rate(t, c2, "bitcoin", "usd").Tier, v)
	}
	up.set(body(`{"newcoin":{"usd":1e300}}`))
	c3, _ := newTestClient(t, Config{Coins: []string{"newcoin"}, Currencies: []string{"usd"}}, newClock(), up.URL)
	require.Equal(t, 1e300, rate(t, c3, "newcoin", "usd").Value)
}

// Issue 12 item 9, observed: twelve refreshes of +45% each (86×) over 72
// minutes were all accepted, because MaxMove compared with the last value
// only.
func TestTwelveSteps45PercentOver72MinutesAreCaught(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, logs := newTestClient(t, Config{}, clk, up.URL)
	require.Equal(t, 60000.0, rate(t, c, "bitcoin", "usd").Value)
	factor := 1.0
	for step := 1; step <= 12; step++ {
		factor *= 1.45
		up.setFactor(factor)
		clk.Add(6 * time.Minute)
		rate(t, c, "bitcoin", "usd") // stale: starts a refresh
		idle(t, c)
		q := rate(t, c, "bitcoin", "usd")
		if q.Tier == TierStatic { // the last good value aged out: the reference price, not the drift
			require.Equal(t, 93500.0, q.Value)
			continue
		}
		require.LessOrEqual(t, q.Value, 60000*1.5, "step %d: %v served (%v tier)", step, q.Value, q.Tier)
		if step == 1 {
			require.Equal(t, 60000*1.45, q.Value, "one step within the bound is taken")
		}
	}
	require.Contains(t, logs.String(), "limit 50% per 1h0m0s")
	// Five wholly rejected bodies in a row open the breaker: an upstream
	// whose every value is implausible is not healthy.
	require.Equal(t, uint64(5), c.Stats().Failures.Invalid)
	require.EqualValues(t, 7, up.calls.Load())
	require.Equal(t, uint64(1), c.Stats().BreakerTransitions.Open)
}

// A drift within MaxMove per MoveWindow is followed: +3% every 6 minutes
// for three hours (2.4× in all) is taken step by step.
func TestSteadyDriftWithinTheWindowIsFollowed(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{}, clk, up.URL)
	rate(t, c, "bitcoin", "usd")
	factor := 1.0
	for range 30 {
		factor *= 1.03
		up.setFactor(factor)
		clk.Add(6 * time.Minute)
		rate(t, c, "bitcoin", "usd")
		idle(t, c)
		q := rate(t, c, "bitcoin", "usd")
		require.Equal(t, TierFresh, q.Tier)
		require.InDelta(t, 60000*factor, q.Value, 1e-6)
	}
	require.Zero(t, c.Stats().Failures.Invalid)
}

// Issue 12 item 9, observed: a body with a duplicate key ("usd":90000, then
// "usd":0.0001) served 0.0001.
func TestDuplicateKeyBodyIsRejected(t *testing.T) {
	cases := map[string]string{
		"currency": strings.Replace(goodBody("90000"), `"usd":90000`, `"usd":90000,"usd":0.0001`, 1),
		"coin":     `{"bitcoin":{"usd":90000},` + goodBody("0.0001")[1:],
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := decodePrices([]byte(b))
			require.ErrorContains(t, err, "duplicate key")
			clk, up := newClock(), newUpstream(t)
			up.set(body(b))
			c, logs := newTestClient(t, Config{}, clk, up.URL)
			q := rate(t, c, "bitcoin", "usd")
			require.Equal(t, TierStatic, q.Tier)
			require.Equal(t, 93500.0, q.Value)
			require.Equal(t, TierStatic, rate(t, c, "solana", "usd").Tier, "the whole body is rejected")
			require.Contains(t, logs.String(), "duplicate key")
		})
	}
}

// A last value that is not a positive finite number is no baseline: 0 made
// every move infinite (all rejected), +Inf made it NaN (all accepted).
func TestNonPositiveLastValueIsNoBaseline(t *testing.T) {
	c, err := New(Config{Logger: discardLogger()})
	require.NoError(t, err)
	defer c.Close()
	p := Pair{"bitcoin", "usd"}
	for _, last := range []float64{0, -5, math.Inf(1), nan()} {
		prev := map[Pair]Price{p: {Value: last, FetchedAt: t0}}
		got, problem := c.check(p, 60000, prev, t0.Add(time.Minute))
		require.Empty(t, problem, "last %v", last)
		require.Equal(t, 60000.0, got.Baseline, "last %v: a first value", last)
		_, problem = c.check(p, 1e9, prev, t0.Add(time.Minute))
		require.Contains(t, problem, "static rate", "last %v: a first value, held to the static table", last)
	}
}
