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
	// APIKey is sent in the header Plan names, to BaseURL's host only: with
	// a key, the client follows no redirect to another host, port or scheme
	// (see HTTPClient). It never appears in logs, errors or Stats, raw or
	// escaped. The default is "": no key (the public, keyless API).
	APIKey string
	// Plan says which header carries APIKey. The default is PlanDemo
	// (x-cg-demo-api-key); "" means the default. PlanPro sends
	// x-cg-pro-api-key and changes the default BaseURL to ProBaseURL.
	Plan Plan

	// Coins are the CoinGecko coin ids fetched: in one upstream call when
	// MaxURLLength and MaxCoinsPerCall allow, else in as few as they allow.
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
	// probe. The default is 5 minutes; 0 means the default. It is
	// gobreaker's own open timeout, so it runs on the monotonic clock, not
	// Now.
	Cooldown time.Duration
	// MinInterval is the upstream budget: on average at most one call per
	// MinInterval, whatever the concurrency; with a shared state it holds for
	// the whole fleet. A refresh that needs k calls (see MaxURLLength) makes
	// them back to back and spends k intervals: the next call waits k ×
	// MinInterval. The default is 3 seconds; 0 means the default.
	MinInterval time.Duration
	// HTTPTimeout bounds one upstream call, body included. The default is 10
	// seconds; 0 means the default.
	HTTPTimeout time.Duration
	// ColdWait is how long a caller with nothing cached for its pair waits
	// for the in-flight fetch before it gets the static tier. The default is
	// 2 seconds; 0 means the default; it is real time, not Now time.
	ColdWait time.Duration
	// MaxMove bounds how far a pair's value may move within MoveWindow, as a
	// fraction. Each pair keeps a baseline: its first accepted value, renewed
	// to its last accepted value once the baseline is MoveWindow old. A
	// fetched value further than MaxMove from the baseline is rejected (the
	// pair keeps its last good value), so small steps cannot add up: a
	// sustained drift is held to MaxMove per MoveWindow. The check applies
	// while the last good value is servable (younger than Fallback). The
	// default is 0.5 (50%); 0 means the default; a negative value turns the
	// check off.
	MaxMove float64
	// MoveWindow is the time over which MaxMove bounds movement. The default
	// is 1 hour; 0 means the default.
	MoveWindow time.Duration
	// MaxStaticFactor bounds a pair's first value (no last good value
	// servable) by the static table: it must lie within this factor of the
	// table's rate, either way (the default 10 accepts 9350 to 935000 for a
	// static 93500). Pairs the table does not hold have no such check. A
	// static table far behind the market rejects real prices; keep it
	// roughly current or raise the factor. The default is 10; 0 means the
	// default; a negative value turns the check off; values between 0 and 1
	// are invalid.
	MaxStaticFactor float64
	// MaxURLLength caps the length of one upstream URL, query included:
	// coins are split into as few calls as it allows, every currency in each.
	// CoinGecko publishes no cap on ids per /simple/price call that we know
	// of; the binding limit is URL length at the upstream and the proxies
	// between: nginx's default request-line buffer is 8 KiB, and RFC 9110
	// (section 4.1) recommends supporting URIs of at least 8000 octets. The
	// default is 8000; 0 means the default. A 414 from the upstream is
	// logged as a configuration error naming this field.
	MaxURLLength int
	// MaxCoinsPerCall caps the coin ids in one upstream call, for plans or
	// proxies that limit them. The default is 0: no cap beyond MaxURLLength.
	MaxCoinsPerCall int
	// MaxBodyBytes caps the upstream response body (of each call); a larger body is
	// rejected. The default is 1 MiB; 0 means the default.
	MaxBodyBytes int64
	// MaxRetryAfter caps how long a 429's Retry-After can stop upstream
	// calls, against a hostile or broken upstream. The default is 1 hour; 0
	// means the default.
	MaxRetryAfter time.Duration

	// HTTPClient makes the upstream calls. The default is
	// http.DefaultClient; nil means the default. HTTPTimeout applies either
	// way, through the request's context. With an APIKey, the client uses a
	// shallow copy whose CheckRedirect refuses a redirect to another host,
	// port or scheme than BaseURL's (net/http would forward the key's header
	// there) and passes the others to this client's CheckRedirect; the
	// caller's client is left as it is.
	HTTPClient *http.Client
	// Now is the clock the client reads for ages, tiers, pacing, MoveWindow
	// and Retry-After. The breaker's Cooldown, HTTPTimeout and ColdWait run
	// on real time whatever it says. The default is the wall clock as of New
	// advanced by the monotonic clock (a step of the system clock does not
	// age or rejuvenate cached values); nil means the default.
	Now func() time.Time
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
	defaultMoveWindow    = time.Hour
	defaultMaxStatic     = 10
	defaultMaxURLLength  = 8000
)

// withDefaults returns a deep copy of c with every zero field defaulted, or
// an error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	steps := []func(*Config) error{(*Config).upstreamDefaults, (*Config).durationDefaults, (*Config).limitDefaults, (*Config).staticDefaults}
	for _, step := range steps {
		if err := step(&c); err != nil {
			return c, err
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.Now == nil {
		c.Now = monotonicClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// upstreamDefaults fills and checks Plan, BaseURL, Coins and Currencies.
func (c *Config) upstreamDefaults() error {
	if c.Plan == "" {
		c.Plan = PlanDemo
	}
	if c.Plan != PlanDemo && c.Plan != PlanPro {
		return fmt.Errorf("cryptorates: Plan %q: want %q or %q", c.Plan, PlanDemo, PlanPro)
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
		if c.Plan == PlanPro {
			c.BaseURL = ProBaseURL
		}
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("cryptorates: BaseURL must be an absolute http or https URL")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Coins, err = ids("Coins", c.Coins, defaultCoins); err != nil {
		return err
	}
	if c.Currencies, err = ids("Currencies", c.Currencies, defaultCurrencies); err != nil {
		return err
	}
	if slices.Contains(c.Currencies, lastUpdatedKey) {
		return fmt.Errorf("cryptorates: Currencies: %q is not a currency", lastUpdatedKey)
	}
	return nil
}

// durationDefaults fills and checks the durations and the tier order.
func (c *Config) durationDefaults() error {
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
		{"MoveWindow", &c.MoveWindow, defaultMoveWindow},
	}
	for _, d := range durations {
		switch {
		case *d.p == 0:
			*d.p = d.def
		case *d.p < 0:
			return fmt.Errorf("cryptorates: %s is negative (%v)", d.name, *d.p)
		}
	}
	if c.Fresh > c.Acceptable || c.Acceptable > c.Fallback {
		return fmt.Errorf("cryptorates: want Fresh (%v) <= Acceptable (%v) <= Fallback (%v)", c.Fresh, c.Acceptable, c.Fallback)
	}
	return nil
}

// limitDefaults fills and checks the counts, sizes and factors.
func (c *Config) limitDefaults() error {
	ints := []struct {
		name string
		p    *int
		def  int
	}{
		{"FailureThreshold", &c.FailureThreshold, defaultThreshold},
		{"MaxURLLength", &c.MaxURLLength, defaultMaxURLLength},
		{"MaxCoinsPerCall", &c.MaxCoinsPerCall, 0},
	}
	for _, n := range ints {
		switch {
		case *n.p == 0:
			*n.p = n.def
		case *n.p < 0:
			return fmt.Errorf("cryptorates: %s is negative (%d)", n.name, *n.p)
		}
	}
	switch {
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = defaultMaxBody
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("cryptorates: MaxBodyBytes is negative (%d)", c.MaxBodyBytes)
	}
	for _, f := range []struct {
		name string
		p    *float64
		def  float64
	}{{"MaxMove", &c.MaxMove, defaultMaxMove}, {"MaxStaticFactor", &c.MaxStaticFactor, defaultMaxStatic}} {
		switch {
		case *f.p == 0:
			*f.p = f.def
		case math.IsNaN(*f.p):
			return fmt.Errorf("cryptorates: %s is NaN", f.name)
		}
	}
	if c.MaxStaticFactor > 0 && c.MaxStaticFactor < 1 {
		return fmt.Errorf("cryptorates: MaxStaticFactor is %v, want at least 1 (or negative for off)", c.MaxStaticFactor)
	}
	return nil
}

// staticDefaults copies and checks the static table.
func (c *Config) staticDefaults() error {
	if c.Static.Rates == nil {
		c.Static = BuiltinStatic()
		return nil
	}
	c.Static.Rates = maps.Clone(c.Static.Rates)
	for p, v := range c.Static.Rates {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("cryptorates: Static rate %s is %v, want a positive finite value", p, v)
		}
	}
	return nil
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
