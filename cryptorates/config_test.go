package cryptorates

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestZeroConfigIsTheDefaults(t *testing.T) {
	got, err := Config{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, got.BaseURL)
	assert.Equal(t, PlanDemo, got.Plan)
	assert.Equal(t, []string{"bitcoin", "ethereum", "solana", "polkadot", "avalanche-2"}, got.Coins)
	assert.Equal(t, []string{"usd", "eur", "gbp"}, got.Currencies)
	assert.Equal(t, 5*time.Minute, got.Fresh)
	assert.Equal(t, 15*time.Minute, got.Acceptable)
	assert.Equal(t, 60*time.Minute, got.Fallback)
	assert.Equal(t, 5, got.FailureThreshold)
	assert.Equal(t, 5*time.Minute, got.Cooldown)
	assert.Equal(t, 3*time.Second, got.MinInterval)
	assert.Equal(t, 10*time.Second, got.HTTPTimeout)
	assert.Equal(t, 2*time.Second, got.ColdWait)
	assert.Equal(t, 0.5, got.MaxMove)
	assert.EqualValues(t, 1<<20, got.MaxBodyBytes)
	assert.Equal(t, time.Hour, got.MaxRetryAfter)
	assert.Equal(t, time.Hour, got.MoveWindow)
	assert.Equal(t, 10.0, got.MaxStaticFactor)
	assert.Equal(t, 8000, got.MaxURLLength)
	assert.Equal(t, 0, got.MaxCoinsPerCall)
	assert.Equal(t, builtinAsOf, got.Static.AsOf)
	assert.Len(t, got.Static.Rates, 15)
	assert.Same(t, http.DefaultClient, got.HTTPClient)
	assert.NotNil(t, got.Now)
	assert.NotNil(t, got.Logger)

	c, err := New(Config{})
	require.NoError(t, err)
	defer c.Close()
	require.Len(t, c.batches, 1, "the default coins fit one call")
	assert.Equal(t, "https://api.coingecko.com/api/v3/simple/price?ids=bitcoin,ethereum,solana,polkadot,avalanche-2&vs_currencies=usd,eur,gbp&include_last_updated_at=true", c.batches[0].url)
	// The built-in table covers every default pair.
	for _, p := range c.all {
		assert.Contains(t, got.Static.Rates, p)
	}
}

func TestInvalidConfig(t *testing.T) {
	cases := map[string]Config{
		"plan":             {Plan: "gold"},
		"base URL":         {BaseURL: "api.coingecko.com"},
		"base URL scheme":  {BaseURL: "ftp://x"},
		"coin id":          {Coins: []string{"bitcoin", "bad,id"}},
		"empty currency":   {Currencies: []string{" "}},
		"reserved key":     {Currencies: []string{"last_updated_at"}},
		"negative":         {Cooldown: -time.Second},
		"tier order":       {Fresh: time.Hour},
		"threshold":        {FailureThreshold: -1},
		"NaN move":         {MaxMove: math.NaN()},
		"body cap":         {MaxBodyBytes: -1},
		"static factor":    {MaxStaticFactor: 0.5},
		"URL length":       {MaxURLLength: -1},
		"URL too short":    {MaxURLLength: 40},
		"coins per call":   {MaxCoinsPerCall: -1},
		"move window":      {MoveWindow: -time.Minute},
		"bad static value": {Static: StaticTable{Rates: map[Pair]float64{{"bitcoin", "usd"}: -1}}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := New(cfg)
			require.Error(t, err)
			require.Nil(t, c)
			require.True(t, strings.HasPrefix(err.Error(), "cryptorates: "), err.Error())
		})
	}
}

func TestAPIKeyHeaders(t *testing.T) {
	up := newUpstream(t)
	for _, tc := range []struct {
		plan   Plan
		header string
	}{{"", "x-cg-demo-api-key"}, {PlanDemo, "x-cg-demo-api-key"}, {PlanPro, "x-cg-pro-api-key"}} {
		c, _ := newTestClient(t, Config{Plan: tc.plan, APIKey: "k-123"}, newClock(), up.URL)
		rate(t, c, "bitcoin", "usd")
		h := *up.headers.Load()
		require.Equal(t, "k-123", h.Get(tc.header), "plan %q", tc.plan)
		if tc.plan == PlanPro {
			require.Empty(t, h.Get("x-cg-demo-api-key"))
		}
	}
	// No key: no key header at all.
	c, _ := newTestClient(t, Config{}, newClock(), up.URL)
	rate(t, c, "bitcoin", "usd")
	h := *up.headers.Load()
	require.Empty(t, h.Get("x-cg-demo-api-key"))
	require.Empty(t, h.Get("x-cg-pro-api-key"))

	// Pro changes the default host.
	p, err := New(Config{Plan: PlanPro, APIKey: "k"})
	require.NoError(t, err)
	defer p.Close()
	require.True(t, strings.HasPrefix(p.batches[0].url, ProBaseURL+"/simple/price?"), p.batches[0].url)
}

func TestConfigIsCopied(t *testing.T) {
	coins := []string{"bitcoin"}
	static := map[Pair]float64{{"bitcoin", "usd"}: 1}
	cfg := Config{Coins: coins, Currencies: []string{"USD"}, Static: StaticTable{Rates: static}, BaseURL: refusedURL(t), ColdWait: 10 * time.Millisecond}
	c, _ := newTestClient(t, cfg, newClock(), "")
	coins[0] = "ethereum"
	static[Pair{"bitcoin", "usd"}] = 2
	q := rate(t, c, "bitcoin", "usd")
	require.Equal(t, 1.0, q.Value)
	require.Equal(t, []Pair{{"bitcoin", "usd"}}, c.all)
}
