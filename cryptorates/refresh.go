package cryptorates

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
)

// sharedBudget is the time a refresh round allows the shared state on top
// of HTTPTimeout, so that a hung database cannot stall the worker forever.
const sharedBudget = 10 * time.Second

// run is the refresh worker: one round per kick, one round at a time.
func (c *Client) run() {
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			c.mu.Lock()
			close(c.round) // release waiters; later ones see it closed
			c.mu.Unlock()
			return
		case <-c.kick:
		}
		c.mu.Lock()
		c.inflight = true
		c.mu.Unlock()

		c.refresh()

		c.mu.Lock()
		old := c.round
		c.round = make(chan struct{})
		c.inflight = false
		c.mu.Unlock()
		close(old)
		c.rounds.Add(1)
	}
}

// refresh is one round: take the fleet's snapshot, and when nothing fresh is
// there and the pacer and the breaker allow, make the upstream calls, all
// under the shared fetch lock.
func (c *Client) refresh() {
	now := c.cfg.Now()
	if c.pace.paced(now.UnixNano()) {
		return
	}
	c.pace.hold(now.Add(c.cfg.MinInterval))

	budget := time.Duration(len(c.batches))*c.cfg.HTTPTimeout + sharedBudget
	ctx, cancel := context.WithTimeout(c.ctx, budget)
	defer cancel()
	defer c.logTransitions() // those of this round, and those callers caused since the last
	var ran bool
	var err error
	if c.br.state() != BreakerOpen {
		ran, err = c.shared.Exclusive(ctx, c.fetchLocked)
	}
	if err != nil && c.ctx.Err() == nil {
		c.noteShared(err)
		if !ran {
			// Work alone from what this client holds, still paced.
			c.fetchLocked(c.localSnapshot())
		}
		return
	}
	if !ran {
		// Another instance holds the lock, or this client's breaker is
		// open: read what the fleet has.
		snap, err := c.shared.Load(ctx)
		if err != nil {
			if c.ctx.Err() == nil {
				c.noteShared(err)
			}
			return
		}
		snap, _ = c.trusted(snap, now) // repaired by the next holder of the lock
		if c.adopt(snap) {
			c.stats.sharedReads.Add(1)
		}
	}
	c.noteShared(nil)
}

// localSnapshot is this client's own state, for when the shared state fails.
func (c *Client) localSnapshot() Snapshot {
	s := Snapshot{AttemptedAt: c.pace.spent, NotBefore: c.pace.notBefore}
	if v := c.view.Load(); v != nil {
		s.Prices = v.prices
	}
	return s
}

// fetchLocked runs under the fleet's fetch lock with the fleet's snapshot.
// It stores the snapshot when it called the upstream, or when it had to
// repair what was stored (see trusted).
func (c *Client) fetchLocked(stored Snapshot) (Snapshot, bool) {
	now := c.cfg.Now()
	cur, repaired := c.trusted(stored, now)
	if c.adopt(cur) {
		c.stats.sharedReads.Add(1)
	}
	var base map[Pair]Price
	if v := c.view.Load(); v != nil {
		base = v.prices
	}
	if c.allFresh(base, now) {
		return cur, repaired
	}
	if earliest := c.pace.earliest(cur); now.Before(earliest) {
		c.pace.hold(earliest) // paced or Retry-After: no round before the call could go
		return cur, repaired
	}
	next := cur
	good, calls := c.fetchAll(base, now, &next)
	if calls == 0 {
		return cur, repaired // the breaker is open
	}
	c.pace.spend(now, calls, &next)
	if len(good) > 0 {
		merged := make(map[Pair]Price, len(next.Prices)+len(good))
		maps.Copy(merged, next.Prices)
		mergeNewer(merged, base)
		maps.Copy(merged, good)
		next.Prices = merged
		c.setView(merged)
	}
	c.pace.hold(c.pace.earliest(next))
	return next, true
}

// fetchAll makes one refresh's upstream calls, a batch of coins each,
// through the breaker. It stops at a call that failed for a reason other
// than its body (the upstream is in trouble: the other batches would fare
// no better) or that the breaker refused. It returns the values to keep,
// of every batch that yielded some, and the number of calls made. A pair of
// a failed batch keeps its last good value, and so its tier.
func (c *Client) fetchAll(base map[Pair]Price, now time.Time, next *Snapshot) (map[Pair]Price, int) {
	good := make(map[Pair]Price, len(c.all))
	calls := 0
	for _, b := range c.batches {
		probe := c.br.state() == BreakerHalfOpen
		kept, err := c.br.cb.Execute(func() (map[Pair]Price, error) {
			c.stats.calls.Add(1)
			ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HTTPTimeout)
			defer cancel()
			raw, err := c.call(ctx, b.url, now)
			if err != nil {
				return nil, err
			}
			return c.validate(raw, b.coins, base, now)
		})
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			break // refused: open, or its one half-open probe already taken
		}
		calls++
		c.record(err, probe, next)
		maps.Copy(good, kept)
		var fe *fetchError
		if err != nil && (!errors.As(err, &fe) || fe.class != failInvalid) {
			break
		}
	}
	return good, calls
}

// record accounts for one upstream call's outcome: counts, logs and
// Retry-After.
func (c *Client) record(err error, probe bool, next *Snapshot) {
	var fe *fetchError
	switch {
	case err != nil && c.ctx.Err() != nil:
		// A call aborted by Close: not the upstream's fault.
	case err == nil:
		c.stats.lastSuccess.Store(c.cfg.Now().UnixNano())
	case !errors.As(err, &fe):
	case fe.partial:
		c.stats.lastSuccess.Store(c.cfg.Now().UnixNano())
		c.stats.failures[failInvalid].Add(1)
		c.stats.lastFailure.Store(int32(failInvalid) + 1)
		c.cfg.Logger.Warn("cryptorates: upstream values rejected, last good values kept",
			"rejected", len(fe.problems), "problems", summary(fe.problems))
	default:
		c.stats.failures[fe.class].Add(1)
		c.stats.lastFailure.Store(int32(fe.class) + 1)
		c.logFailure(fe, probe)
		if !fe.retryAfter.IsZero() {
			c.pace.retryAfter(fe.retryAfter, next)
		}
	}
}

// logFailure logs one failed call, with its place in the count towards the
// breaker's threshold.
func (c *Client) logFailure(fe *fetchError, probe bool) {
	count := fmt.Sprintf("%d/%d", c.br.failures.Load(), c.br.threshold)
	attrs := []any{"failure", count, "class", fe.class.String(), "err", fe.err}
	if fe.status != 0 {
		attrs = append(attrs, "status", fe.status)
	}
	if !fe.retryAfter.IsZero() {
		attrs = append(attrs, "retry_after", fe.retryAfter)
	}
	switch {
	case fe.class == failAuth:
		c.cfg.Logger.Error("cryptorates: upstream refused the request: configuration error (check the API key and plan)",
			append(attrs, "plan", string(c.cfg.Plan), "key_set", c.cfg.APIKey != "")...)
	case fe.status == http.StatusRequestURITooLong:
		c.cfg.Logger.Error("cryptorates: upstream refused a long URL: configuration error (lower MaxURLLength)",
			append(attrs, "max_url_length", c.cfg.MaxURLLength)...)
	case probe:
		c.cfg.Logger.Warn("cryptorates: half-open probe failed", attrs...)
	default:
		c.cfg.Logger.Warn("cryptorates: upstream call failed", attrs...)
	}
}

// logTransitions logs the breaker's state changes not logged yet, outside
// gobreaker's lock.
func (c *Client) logTransitions() {
	for _, t := range c.br.drain() {
		switch t.to {
		case gobreaker.StateOpen:
			c.cfg.Logger.Warn("cryptorates: circuit breaker open",
				"failures", c.br.threshold, "cooldown", c.cfg.Cooldown, "until", t.at.Add(c.cfg.Cooldown))
		case gobreaker.StateHalfOpen:
			c.cfg.Logger.Info("cryptorates: circuit breaker half-open: one probe")
		case gobreaker.StateClosed:
			c.cfg.Logger.Info("cryptorates: circuit breaker closed")
		}
	}
}

// adopt takes the values of snap that are newer than the served ones. It
// reports whether it took any.
func (c *Client) adopt(snap Snapshot) bool {
	v := c.view.Load()
	if v != nil && !newerThan(snap.Prices, v.prices) {
		return false
	}
	if v == nil && len(snap.Prices) == 0 {
		return false
	}
	merged := make(map[Pair]Price, len(snap.Prices))
	if v != nil {
		maps.Copy(merged, v.prices)
	}
	mergeNewer(merged, snap.Prices)
	c.setView(merged)
	return true
}

// trusted is snap as far as this client believes it. A snapshot comes from
// other instances, whose clocks may run ahead of this one's, through a store
// others can write. A value fetched "in the future" would be served as
// fresh, and skip refreshes, until this clock caught up, and a pacing time
// far ahead would silence the upstream. So no value is fetched (nor its
// baseline taken) after now, no call is attempted after what a refresh of
// this client's batches spends from now, and no Retry-After ends more than
// MaxRetryAfter from now. A value that would be served is checked like an
// upstream one (see trustedPrice) and dropped when rejected. It reports
// whether it changed anything, for the caller to store the repaired
// snapshot: bounding again on every read would make a value look fetched
// now, or a Retry-After end MaxRetryAfter from now, for ever. snap's Prices
// map is copied before any change.
func (c *Client) trusted(snap Snapshot, now time.Time) (Snapshot, bool) {
	orig := snap
	snap.AttemptedAt = notAfter(snap.AttemptedAt, now.Add(time.Duration(len(c.batches)-1)*c.cfg.MinInterval))
	snap.NotBefore = notAfter(snap.NotBefore, now.Add(c.cfg.MaxRetryAfter))
	changed := snap.AttemptedAt != orig.AttemptedAt || snap.NotBefore != orig.NotBefore
	var held map[Pair]Price
	if v := c.view.Load(); v != nil {
		held = v.prices
	}
	var prices map[Pair]Price // a copy of snap.Prices, once one changes
	var problems []string
	for p, pr := range snap.Prices {
		got, problem := c.trustedPrice(p, pr, held, now)
		if problem == "" && got == pr { // an unchanged copy is equal
			continue
		}
		changed = true
		if prices == nil {
			prices = maps.Clone(snap.Prices)
		}
		prices[p] = got
		if problem != "" {
			delete(prices, p)
			problems = append(problems, problem)
		}
	}
	if prices != nil {
		snap.Prices = prices
	}
	if len(problems) > 0 {
		c.cfg.Logger.Warn("cryptorates: stored values rejected", "rejected", len(problems), "problems", summary(problems))
	}
	return snap, changed
}

// trustedPrice is pr, stored for p, with its times bounded by now, or says
// why it is rejected. A value newer than the held one (so one that adopt
// takes) must pass the checks an upstream value passes against the held
// values (see plausible), and a baseline that is not a positive finite value
// within MaxMove of it is replaced by the value itself.
func (c *Client) trustedPrice(p Pair, pr Price, held map[Pair]Price, now time.Time) (Price, string) {
	pr.FetchedAt = notAfter(pr.FetchedAt, now)
	pr.BaselineAt = notAfter(pr.BaselineAt, pr.FetchedAt)
	if h, ok := held[p]; ok && !pr.FetchedAt.After(h.FetchedAt) {
		return pr, "" // the held value is as new: pr is not taken
	}
	if _, _, problem := c.plausible(p, pr.Value, held, now); problem != "" {
		return Price{}, "stored " + problem
	}
	if pr.Baseline != 0 && !(positiveFinite(pr.Baseline) &&
		(c.cfg.MaxMove < 0 || math.Abs(pr.Value-pr.Baseline)/pr.Baseline <= c.cfg.MaxMove)) {
		pr.Baseline, pr.BaselineAt = pr.Value, pr.FetchedAt
	}
	return pr, ""
}

// notAfter is t, or limit when t is after it.
func notAfter(t, limit time.Time) time.Time {
	if t.After(limit) {
		return limit
	}
	return t
}

func newerThan(a, b map[Pair]Price) bool {
	for p, pa := range a {
		if pb, ok := b[p]; !ok || pa.FetchedAt.After(pb.FetchedAt) {
			return true
		}
	}
	return false
}

// mergeNewer copies into dst each value of src newer than dst's.
func mergeNewer(dst, src map[Pair]Price) {
	for p, ps := range src {
		if pd, ok := dst[p]; !ok || ps.FetchedAt.After(pd.FetchedAt) {
			dst[p] = ps
		}
	}
}

func (c *Client) setView(prices map[Pair]Price) {
	v := &view{prices: prices, hot: make(map[Pair]entry, len(prices))}
	for pair, p := range prices {
		v.hot[pair] = entry{Price: p, ns: p.FetchedAt.UnixNano()}
		if p.FetchedAt.After(v.newest) {
			v.newest = p.FetchedAt
		}
	}
	v.newestNs = v.newest.UnixNano()
	c.view.Store(v)
}

// allFresh reports whether every configured pair has a fresh value.
func (c *Client) allFresh(prices map[Pair]Price, now time.Time) bool {
	for _, p := range c.all {
		pr, ok := prices[p]
		if !ok || now.Sub(pr.FetchedAt) > c.cfg.Fresh {
			return false
		}
	}
	return true
}

// noteShared logs the shared state failing and recovering, once each.
func (c *Client) noteShared(err error) {
	switch {
	case err != nil:
		c.stats.sharedErrors.Add(1)
		if !c.sharedDown {
			c.cfg.Logger.Warn("cryptorates: shared state unavailable: fetching alone", "err", err)
		}
		c.sharedDown = true
	case c.sharedDown:
		c.sharedDown = false
		c.cfg.Logger.Info("cryptorates: shared state available again")
	}
}

// summary joins problems, at most a few of them, for a log line.
func summary(problems []string) string {
	const most = 5
	if len(problems) <= most {
		return strings.Join(problems, "; ")
	}
	return strings.Join(problems[:most], "; ") + fmt.Sprintf("; and %d more", len(problems)-most)
}
