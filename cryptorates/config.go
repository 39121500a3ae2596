package cryptorates

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Plan selects how an API key is sent: CoinGecko's demo (free) keys go in
// the x-cg-demo-api-key header, pro keys in x-cg-pro-api-key to the pro host.
type Plan string

// The API plans.
const (
	PlanDemo Plan = "demo"
	PlanPro  Plan = "pro"
)

// The default upstreams: CoinGecko's public v3 API and its pro host.
const (
	DefaultBaseURL = "https://api.coingecko.com/api/v3"
	ProBaseURL     = "https://pro-api.coingecko.com/api/v3"
)

// Config configures a [Client]. The zero value is ready to use: CoinGecko's
// public API, the five default coins in usd, eur and gbp, and the tier,
// breaker and pacing numbers below. [New] copies it; later changes to the
// caller's Config (or its slices and maps) have no effect.
type Config struct {
	// BaseURL is the upstream's API root; the client calls
	// BaseURL+"/simple/price". The default is DefaultBaseURL, or ProBaseURL
	// when Plan is PlanPro; "" means the default.
	BaseURL string
	// APIKey is sent in the header Plan names. It never appears in logs,
	// errors or Stats. The default is "": no key (the public, keyless API).
	APIKey string
	// Plan says which header carries APIKey. The default is PlanDemo
	// (x-cg-demo-api-key); "" means the default. PlanPro sends
	// x-cg-pro-api-key and changes the default BaseURL to ProBaseURL.
	Plan Plan

	// Coins are the CoinGecko coin ids fetched, all in one upstream call.
	// The default is bitcoin, ethereum, solana, polkadot and avalanche-2;
	// nil or empty means the default.
	Coins []string
	// Currencies are the quote currencies fetched for every coin. The
	// default is usd, eur and gbp; nil or empty means the default.
	Currencies []string

	// Fresh is the age up to which a fetched value is served as is. The
	// default is 5 minutes; 0 means the default.
	Fresh time.Duration
	// Acceptable is the age up to which a value is served at once while
	// one background refresh runs. The default is 15 minutes; 0 means the
	// default.
	Acceptable time.Duration
	// Fallback is the age up to which a value is still served (also with a
	// background refresh) before the static table takes over. The default is
	// 60 minutes; 0 means the default. Fresh <= Acceptable <= Fallback.
	Fallback time.Duration
	// Static is the last-resort tier. The default (a nil Rates) is
	// [BuiltinStatic]; a non-nil empty Rates turns the static tier off.
	Static StaticTable

	// FailureThreshold is the number of consecutive failed upstream calls
	// that opens the circuit breaker. The default is 5; 0 means the default.
	FailureThreshold int
	// Cooldown is how long the breaker stays open before one half-open
	// probe. The default is 5 minutes; 0 means the default.
	Cooldown time.Duration
	// MinInterval is the least time between two upstream calls, whatever the
	// concurrency; with a shared state it holds for the whole fleet. The
	// default is 3 seconds; 0 means the default.
	MinInterval time.Duration
	// HTTPTimeout bounds one upstream call, body included. The default is 10
	// seconds; 0 means the default.
	HTTPTimeout time.Duration
	// ColdWait is how long a caller with nothing cached for its pair waits
	// for the in-flight fetch before it gets the static tier. The default is
	// 2 seconds; 0 means the default; it is real time, not Clock time.
	ColdWait time.Duration
	// MaxMove rejects a fetched value that differs from the last good one
	// (while that one is still servable) by more than this fraction of it.
	// The default is 0.5 (50%); 0 means the default; a negative value turns
	// the check off.
	MaxMove float64
	// MaxBodyBytes caps the upstream response body; a larger body is
	// rejected. The default is 1 MiB; 0 means the default.
	MaxBodyBytes int64
	// MaxRetryAfter caps how long a 429's Retry-After can stop upstream
	// calls, against a hostile or broken upstream. The default is 1 hour; 0
	// means the default.
	MaxRetryAfter time.Duration

	// HTTPClient makes the upstream calls. The default is
	// http.DefaultClient; nil means the default. HTTPTimeout applies either
	// way, through the request's context.
	HTTPClient *http.Client
	// Clock tells the time for ages, tiers, pacing, the breaker cooldown and
	// Retry-After. The default (nil) is the wall clock as of New advanced by
	// the monotonic clock: a step of the system clock does not age or rejuvenate
	// cached values, and a read costs one monotonic clock read rather than
	// time.Now's two.
	Clock func() time.Time
	// Logger receives failures, breaker transitions and changes of serving
	// tier. The default is slog.Default(); nil means the default.
	Logger *slog.Logger
	// Shared holds the snapshot and pacing state that a fleet of clients
	// shares, so that they stay within one upstream budget; see
	// [NewPostgresState]. The default is a private in-memory state; nil means
	// the default.
	Shared SharedState
}

// Defaults.
var (
	defaultCoins      = []string{"bitcoin", "ethereum", "solana", "polkadot", "avalanche-2"}
	defaultCurrencies = []string{"usd", "eur", "gbp"}
)

const (
	defaultFresh         = 5 * time.Minute
	defaultAcceptable    = 15 * time.Minute
	defaultFallback      = 60 * time.Minute
	defaultThreshold     = 5
	defaultCooldown      = 5 * time.Minute
	defaultMinInterval   = 3 * time.Second
	defaultHTTPTimeout   = 10 * time.Second
	defaultColdWait      = 2 * time.Second
	defaultMaxMove       = 0.5
	defaultMaxBody       = 1 << 20
	defaultMaxRetryAfter = time.Hour
)

// withDefaults returns a deep copy of c with every zero field defaulted, or
// an error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Plan == "" {
		c.Plan = PlanDemo
	}
	if c.Plan != PlanDemo && c.Plan != PlanPro {
		return c, fmt.Errorf("cryptorates: Plan %q: want %q or %q", c.Plan, PlanDemo, PlanPro)
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
		if c.Plan == PlanPro {
			c.BaseURL = ProBaseURL
		}
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, errors.New("cryptorates: BaseURL must be an absolute http or https URL")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Coins, err = ids("Coins", c.Coins, defaultCoins); err != nil {
		return c, err
	}
	if c.Currencies, err = ids("Currencies", c.Currencies, defaultCurrencies); err != nil {
		return c, err
	}
	if slices.Contains(c.Currencies, lastUpdatedKey) {
		return c, fmt.Errorf("cryptorates: Currencies: %q is not a currency", lastUpdatedKey)
	}

	durations := []struct {
		name string
		p    *time.Duration
		def  time.Duration
	}{
		{"Fresh", &c.Fresh, defaultFresh},
		{"Acceptable", &c.Acceptable, defaultAcceptable},
		{"Fallback", &c.Fallback, defaultFallback},
		{"Cooldown", &c.Cooldown, defaultCooldown},
		{"MinInterval", &c.MinInterval, defaultMinInterval},
		{"HTTPTimeout", &c.HTTPTimeout, defaultHTTPTimeout},
		{"ColdWait", &c.ColdWait, defaultColdWait},
		{"MaxRetryAfter", &c.MaxRetryAfter, defaultMaxRetryAfter},
	}
	for _, d := range durations {
		switch {
		case *d.p == 0:
			*d.p = d.def
		case *d.p < 0:
			return c, fmt.Errorf("cryptorates: %s is negative (%v)", d.name, *d.p)
		}
	}
	if c.Fresh > c.Acceptable || c.Acceptable > c.Fallback {
		return c, fmt.Errorf("cryptorates: want Fresh (%v) <= Acceptable (%v) <= Fallback (%v)", c.Fresh, c.Acceptable, c.Fallback)
	}
	switch {
	case c.FailureThreshold == 0:
		c.FailureThreshold = defaultThreshold
	case c.FailureThreshold < 0:
		return c, fmt.Errorf("cryptorates: FailureThreshold is negative (%d)", c.FailureThreshold)
	}
	switch {
	case c.MaxMove == 0:
		c.MaxMove = defaultMaxMove
	case math.IsNaN(c.MaxMove):
		return c, errors.New("cryptorates: MaxMove is NaN")
	}
	switch {
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = defaultMaxBody
	case c.MaxBodyBytes < 0:
		return c, fmt.Errorf("cryptorates: MaxBodyBytes is negative (%d)", c.MaxBodyBytes)
	}
	if c.Static.Rates == nil {
		c.Static = BuiltinStatic()
	} else {
		c.Static.Rates = maps.Clone(c.Static.Rates)
		for p, v := range c.Static.Rates {
			if !(v > 0) || math.IsInf(v, 0) {
				return c, fmt.Errorf("cryptorates: Static rate %s is %v, want a positive finite value", p, v)
			}
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.Clock == nil {
		c.Clock = monotonicClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// ids validates, lower-cases and de-duplicates a list of coin or currency ids.
func ids(field string, in, def []string) ([]string, error) {
	if len(in) == 0 {
		return slices.Clone(def), nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || strings.ContainsFunc(s, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		}) {
			return nil, fmt.Errorf("cryptorates: %s: %q is not a valid id", field, s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// monotonicClock returns a clock that starts at the wall time of the call and
// advances with the monotonic clock only: time.Since on a time carrying a
// monotonic reading reads nothing else.
func monotonicClock() func() time.Time {
	base := time.Now()
	return func() time.Time { return base.Add(time.Since(base)) }
}
