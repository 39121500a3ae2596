package cryptorates

import (
	"fmt"
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
