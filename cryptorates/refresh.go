package cryptorates

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
		case <-c.stop:
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
// there and pacing, Retry-After and the breaker allow, make the one upstream
// call, all under the shared fetch lock.
func (c *Client) refresh() {
	now := c.cfg.Clock()
	if now.UnixNano() < c.nextRound.Load() {
		return
	}
	c.nextRound.Store(now.Add(c.cfg.MinInterval).UnixNano())

	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HTTPTimeout+sharedBudget)
	defer cancel()
	ran, err := c.shared.Exclusive(ctx, c.fetchLocked)
	if err != nil && c.ctx.Err() == nil {
		c.noteShared(err)
		if !ran {
			// Work alone from what this client holds, still paced.
			c.fetchLocked(c.localSnapshot())
		}
		return
	}
	if !ran {
		// Another instance holds the lock: read what the fleet has.
		snap, err := c.shared.Load(ctx)
		if err != nil {
			if c.ctx.Err() == nil {
				c.noteShared(err)
			}
			return
		}
		c.adopt(snap)
		c.stats.sharedReads.Add(1)
	}
	c.noteShared(nil)
}

// localSnapshot is this client's own state, for when the shared state fails.
func (c *Client) localSnapshot() Snapshot {
	s := Snapshot{AttemptedAt: c.lastAttempt, NotBefore: c.notBefore}
	if v := c.view.Load(); v != nil {
		s.Prices = v.prices
	}
	return s
}

// fetchLocked runs under the fleet's fetch lock with the fleet's snapshot.
func (c *Client) fetchLocked(cur Snapshot) (Snapshot, bool) {
	now := c.cfg.Clock()
	if c.adopt(cur) {
		c.stats.sharedReads.Add(1)
	}
	if cur.NotBefore.After(c.notBefore) {
		c.notBefore = cur.NotBefore
	}
	var base map[Pair]Price
	if v := c.view.Load(); v != nil {
		base = v.prices
	}
	if c.allFresh(base, now) {
		return cur, false
	}
	if earliest := c.earliestCall(cur.AttemptedAt); now.Before(earliest) {
		// Paced, Retry-After or cooldown: no round before the call could go.
		c.nextRound.Store(earliest.UnixNano())
		return cur, false
	}

	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HTTPTimeout)
	defer cancel()
	probe := c.br.tripped.Load() // the cooldown is over: this is the half-open probe
	called := false
	res, transitions, err := c.br.execute(func() (fetchResult, error) {
		called = true
		c.stats.calls.Add(1)
		raw, err := c.call(ctx, now)
		if err != nil {
			return fetchResult{}, err
		}
		good, problems := c.validate(raw, base, now)
		if len(good) == 0 {
			return fetchResult{problems: problems}, &fetchError{class: failInvalid, status: 200,
				err: errors.New("no usable value: " + summary(problems))}
		}
		return fetchResult{good: good, problems: problems}, nil
	})
	if !called {
		return cur, false
	}
	next := cur
	next.AttemptedAt = now
	c.lastAttempt = now
	c.record(res, err, probe, &next)
	c.transitions(transitions)
	c.nextRound.Store(c.earliestCall(now).UnixNano())
	return next, true
}

// earliestCall is the first time the gate lets an upstream call through:
// MinInterval after the last call (the fleet's, attempted, and this
// client's), not before Retry-After, not while the breaker's cooldown runs.
func (c *Client) earliestCall(attempted time.Time) time.Time {
	t := attempted.Add(c.cfg.MinInterval)
	if l := c.lastAttempt.Add(c.cfg.MinInterval); l.After(t) {
		t = l
	}
	if c.notBefore.After(t) {
		t = c.notBefore
	}
	if c.br.tripped.Load() {
		if u := time.Unix(0, c.br.openUntil.Load()); u.After(t) {
			t = u
		}
	}
	return t
}

// record accounts for one upstream call's outcome and folds good values into
// next and the served view.
func (c *Client) record(res fetchResult, err error, probe bool, next *Snapshot) {
	log := c.cfg.Logger
	if len(res.problems) > 0 {
		c.stats.failures[failInvalid].Add(1)
		log.Warn("cryptorates: upstream values rejected, last good values kept",
			"rejected", len(res.problems), "problems", summary(res.problems))
	}
	var fe *fetchError
	switch {
	case err != nil && c.ctx.Err() != nil:
		// A call aborted by Close: not the upstream's fault.
	case err == nil:
		c.br.consecutive = 0
		c.stats.lastSuccess.Store(c.cfg.Clock().UnixNano())
		merged := make(map[Pair]Price, len(next.Prices)+len(res.good))
		maps.Copy(merged, next.Prices)
		if v := c.view.Load(); v != nil {
			mergeNewer(merged, v.prices)
		}
		maps.Copy(merged, res.good)
		next.Prices = merged
		c.setView(merged)
	case errors.As(err, &fe):
		c.br.consecutive++
		if fe.class != failInvalid || len(res.problems) == 0 {
			c.stats.failures[fe.class].Add(1)
		}
		count := fmt.Sprintf("%d/%d", c.br.consecutive, c.br.threshold)
		attrs := []any{"failure", count, "class", fe.class.String(), "err", fe.err}
		if fe.status != 0 {
			attrs = append(attrs, "status", fe.status)
		}
		if !fe.retryAfter.IsZero() {
			attrs = append(attrs, "retry_after", fe.retryAfter)
			if fe.retryAfter.After(next.NotBefore) {
				next.NotBefore = fe.retryAfter
			}
			if fe.retryAfter.After(c.notBefore) {
				c.notBefore = fe.retryAfter
			}
		}
		if fe.class == failAuth {
			log.Error("cryptorates: upstream refused the request: configuration error (check the API key and plan)",
				append(attrs, "plan", string(c.cfg.Plan), "key_set", c.cfg.APIKey != "")...)
		} else if probe {
			log.Warn("cryptorates: half-open probe failed", attrs...)
		} else {
			log.Warn("cryptorates: upstream call failed", attrs...)
		}
	}
}

// transitions applies and logs the breaker's state changes of one call.
func (c *Client) transitions(states []gobreaker.State) {
	for _, s := range states {
		switch s {
		case gobreaker.StateOpen:
			until := c.cfg.Clock().Add(c.cfg.Cooldown)
			c.br.openUntil.Store(until.UnixNano())
			c.br.tripped.Store(true)
			c.stats.toOpen.Add(1)
			c.cfg.Logger.Warn("cryptorates: circuit breaker open",
				"failures", c.br.consecutive, "cooldown", c.cfg.Cooldown, "until", until)
		case gobreaker.StateHalfOpen:
			c.stats.toHalfOpen.Add(1)
			c.cfg.Logger.Info("cryptorates: circuit breaker half-open: one probe")
		case gobreaker.StateClosed:
			c.br.tripped.Store(false)
			c.stats.toClosed.Add(1)
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
