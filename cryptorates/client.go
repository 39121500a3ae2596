package cryptorates

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnknownPair is returned for a pair no tier holds a value for: it is not
// in the static table and has no fetched value younger than Fallback (it is
// not configured, or the upstream never supplied it).
var ErrUnknownPair = errors.New("no rate for this pair")

// Client serves exchange rates from an upstream priced API (CoinGecko's
// /simple/price) through the tiers, breaker and pacing its Config sets. It
// is safe for concurrent use. It owns one goroutine, the refresh worker:
// call Close when done.
type Client struct {
	cfg       Config
	batches   []batch // the upstream calls of one refresh
	keyHeader string
	secrets   []string          // the API key as it may appear in an error: masked there
	pairs     map[Pair]struct{} // configured pairs
	all       []Pair            // configured pairs, in Config order
	shared    SharedState
	br        *breaker
	pace      *pacer
	stats     counters

	view    atomic.Pointer[view] // what is served; written only by the worker
	serving atomic.Uint32        // tierIndex+1 of the serving level last logged

	kick   chan struct{} // buffered 1: asks the worker for a round
	kicked atomic.Int64  // kicks sent; equal to rounds when the worker is idle
	rounds atomic.Int64  // rounds finished

	mu       sync.Mutex    // protects round and inflight
	round    chan struct{} // closed when the in-flight (or next) round ends
	inflight bool          // a round is running

	ctx    context.Context // canceled by Close: stops the worker, aborts an in-flight call
	cancel context.CancelFunc
	done   chan struct{} // closed when the worker has returned
	once   sync.Once

	sharedDown bool // the shared state's last operation failed; touched only by the worker
}

// view is an immutable snapshot of the servable prices.
type view struct {
	prices   map[Pair]Price
	hot      map[Pair]entry // prices again, with FetchedAt in nanoseconds for the hot path
	newest   time.Time      // the latest FetchedAt in prices
	newestNs int64
}

type entry struct {
	Price
	ns int64 // FetchedAt.UnixNano()
}

// New returns a client for cfg, after filling in defaults and checking it.
// It makes no upstream call: the first miss or stale hit does. Call Close to
// stop its refresh worker.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	bs, err := batches(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		batches:   bs,
		keyHeader: "x-cg-demo-api-key",
		pairs:     make(map[Pair]struct{}, len(cfg.Coins)*len(cfg.Currencies)),
		shared:    cfg.Shared,
		br:        newBreaker(cfg.FailureThreshold, cfg.Cooldown),
		pace:      &pacer{interval: cfg.MinInterval},
		kick:      make(chan struct{}, 1),
		round:     make(chan struct{}),
		done:      make(chan struct{}),
	}
	if cfg.Plan == PlanPro {
		c.keyHeader = "x-cg-pro-api-key"
	}
	if k := cfg.APIKey; k != "" {
		quoted := strconv.Quote(k)
		c.secrets = []string{k, url.QueryEscape(k), url.PathEscape(k), quoted[1 : len(quoted)-1]}
		c.cfg.HTTPClient = keyStaysHome(cfg.HTTPClient)
	}
	if c.shared == nil {
		c.shared = NewMemoryState()
	}
	for _, coin := range cfg.Coins {
		for _, cur := range cfg.Currencies {
			p := Pair{coin, cur}
			c.pairs[p] = struct{}{}
			c.all = append(c.all, p)
		}
	}
	c.serving.Store(uint32(tierIndex(TierFresh) + 1))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	return c, nil
}

// Close stops the refresh worker, aborting an in-flight upstream call, and
// waits for it. Afterwards the client still serves what it holds (cached
// tiers, then static) but never calls the upstream again. Close is safe to
// call more than once and always returns nil.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.cancel()
		<-c.done
	})
	return nil
}

// Rate returns the rate of coin in currency. It returns an error only when
// no tier holds a value for the pair ([ErrUnknownPair]). A fresh value is
// returned at once; an acceptable or fallback one at once too, with one
// background refresh started; with nothing servable for a configured pair it
// waits up to ColdWait (or ctx) for the in-flight fetch, then falls to the
// static tier.
func (c *Client) Rate(ctx context.Context, coin, currency string) (Quote, error) {
	now := c.cfg.Now()
	if q, ok := c.lookup(Pair{coin, currency}, now); ok {
		return q, nil
	}
	return c.rateSlow(ctx, Pair{coin, currency}, now)
}

// lookup serves p from the view if it holds a value younger than Fallback.
// It is the hot path: no locks, no allocation.
func (c *Client) lookup(p Pair, now time.Time) (Quote, bool) {
	v := c.view.Load()
	if v == nil {
		return Quote{}, false
	}
	e, ok := v.hot[p]
	if !ok {
		return Quote{}, false
	}
	nowNs := now.UnixNano()
	age := time.Duration(nowNs - e.ns)
	t, i := c.tier(age)
	if t == TierStatic {
		return Quote{}, false
	}
	if i != 0 {
		c.revalidate(nowNs)
	}
	if level, li := c.tier(time.Duration(nowNs - v.newestNs)); c.serving.Load() != uint32(li+1) {
		c.noteServing(level, now)
	}
	c.stats.served[i].Add(1)
	return Quote{
		Coin: p.Coin, Currency: p.Currency, Value: e.Value, Tier: t,
		FetchedAt: e.FetchedAt, UpdatedAt: e.UpdatedAt, Age: age, Breaker: c.br.state(),
	}, true
}

func (c *Client) rateSlow(ctx context.Context, p Pair, now time.Time) (Quote, error) {
	if n := normalize(p); n != p {
		p = n
		if q, ok := c.lookup(p, now); ok {
			return q, nil
		}
	}
	if _, ok := c.pairs[p]; ok {
		c.await(ctx, now)
		now = c.cfg.Now()
		if q, ok := c.lookup(p, now); ok {
			return q, nil
		}
	}
	return c.static(p, now)
}

// Rates is the batch form of Rate: one quote per pair, in order, with one
// wait at most for all of them. With no pairs it returns every configured
// pair. Pairs no tier knows are left out of the result and named in the
// error, which wraps [ErrUnknownPair]; the other quotes are still returned.
func (c *Client) Rates(ctx context.Context, pairs ...Pair) ([]Quote, error) {
	if len(pairs) == 0 {
		pairs = c.all
	}
	now := c.cfg.Now()
	for _, p := range pairs {
		p = normalize(p)
		if _, ok := c.pairs[p]; ok && !c.servable(p, now) {
			c.await(ctx, now)
			now = c.cfg.Now()
			break
		}
	}
	out := make([]Quote, 0, len(pairs))
	var errs []error
	for _, p := range pairs {
		q, ok := c.lookup(normalize(p), now)
		if !ok {
			var err error
			if q, err = c.static(normalize(p), now); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		out = append(out, q)
	}
	return out, errors.Join(errs...)
}

func normalize(p Pair) Pair {
	return Pair{strings.ToLower(strings.TrimSpace(p.Coin)), strings.ToLower(strings.TrimSpace(p.Currency))}
}

func (c *Client) servable(p Pair, now time.Time) bool {
	v := c.view.Load()
	if v == nil {
		return false
	}
	pr, ok := v.prices[p]
	return ok && now.Sub(pr.FetchedAt) <= c.cfg.Fallback
}

// static serves p from the static table.
func (c *Client) static(p Pair, now time.Time) (Quote, error) {
	val, ok := c.cfg.Static.Rates[p]
	if !ok {
		return Quote{}, fmt.Errorf("cryptorates: %.64q/%.16q: %w", p.Coin, p.Currency, ErrUnknownPair)
	}
	c.noteServing(c.level(now), now)
	c.stats.served[tierIndex(TierStatic)].Add(1)
	asOf := c.cfg.Static.AsOf
	return Quote{
		Coin: p.Coin, Currency: p.Currency, Value: val, Tier: TierStatic, Reference: true,
		FetchedAt: asOf, UpdatedAt: asOf, Age: now.Sub(asOf), Breaker: c.br.state(),
	}, nil
}

// tier names the tier of a value of the given age, and its index in
// Stats counters.
func (c *Client) tier(age time.Duration) (Tier, int) {
	switch {
	case age <= c.cfg.Fresh:
		return TierFresh, 0
	case age <= c.cfg.Acceptable:
		return TierAcceptable, 1
	case age <= c.cfg.Fallback:
		return TierFallback, 2
	}
	return TierStatic, 3
}

// level is the client's serving level: the tier of its newest value.
func (c *Client) level(now time.Time) Tier {
	v := c.view.Load()
	if v == nil {
		return TierStatic
	}
	t, _ := c.tier(now.Sub(v.newest))
	return t
}

// noteServing logs a change of serving level, once per change: a CAS on
// the last logged level, so concurrent requests log it once between them.
func (c *Client) noteServing(level Tier, now time.Time) {
	i := uint32(tierIndex(level) + 1)
	old := c.serving.Load()
	if old == i || !c.serving.CompareAndSwap(old, i) {
		return
	}
	if level == TierFresh {
		c.cfg.Logger.Info("cryptorates: serving fresh rates again")
		return
	}
	attrs := []any{"tier", level, "breaker", c.br.state()}
	if v := c.view.Load(); v != nil {
		attrs = append(attrs, "last_fetched", v.newest, "age", now.Sub(v.newest).Round(time.Second))
	}
	if level == TierStatic {
		attrs = append(attrs, "static_as_of", c.cfg.Static.AsOf.Format(time.DateOnly))
	}
	c.cfg.Logger.Warn("cryptorates: serving degraded rates", attrs...)
}

// revalidate asks for one background refresh unless one is paced out.
func (c *Client) revalidate(nowNs int64) {
	if c.pace.paced(nowNs) {
		return
	}
	c.sendKick()
}

// sendKick asks the worker for a round unless one is already pending.
func (c *Client) sendKick() {
	c.kicked.Add(1)
	select {
	case c.kick <- struct{}{}:
	default:
		c.kicked.Add(-1)
	}
}

// await joins the in-flight refresh round, or starts one, and waits for it
// up to ColdWait or ctx. It returns at once when the client is closed or a
// round is paced out and none is in flight.
func (c *Client) await(ctx context.Context, now time.Time) {
	if c.ctx.Err() != nil { // closed
		return
	}
	c.mu.Lock()
	r, inflight := c.round, c.inflight
	c.mu.Unlock()
	if !inflight {
		if c.pace.paced(now.UnixNano()) {
			return
		}
		c.sendKick()
	}
	t := time.NewTimer(c.cfg.ColdWait)
	defer t.Stop()
	select {
	case <-r:
	case <-t.C:
	case <-ctx.Done():
	}
}
