package cryptorates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dedw3n/hardening/internal/redact"
)

// failClass is the kind of a failed upstream call, as counted in Stats.
type failClass int

const (
	failNetwork     failClass = iota // connection refused, reset, DNS, TLS
	failTimeout                      // HTTPTimeout or a deadline
	failServer                       // 5xx
	failRateLimited                  // 429
	failAuth                         // 401, 403: a configuration error
	failStatus                       // any other non-200 status
	failInvalid                      // a 200 whose body was rejected
	numFailClasses
)

func (f failClass) String() string {
	return [...]string{"network", "timeout", "server", "rate-limited", "auth", "status", "invalid"}[f]
}

// fetchError is a failed upstream call.
type fetchError struct {
	class      failClass
	status     int       // HTTP status, 0 when none arrived
	retryAfter time.Time // from a 429's Retry-After; zero when absent
	problems   []string  // for failInvalid: what validation rejected
	partial    bool      // failInvalid, yet some values were usable
	err        error
}

// partial reports whether err is a call whose body was partly usable: a
// success to the breaker, an Invalid failure in Stats.
func partial(err error) bool {
	var fe *fetchError
	return errors.As(err, &fe) && fe.partial
}

func (e *fetchError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("cryptorates: upstream %s (HTTP %d): %v", e.class, e.status, e.err)
	}
	return fmt.Sprintf("cryptorates: upstream %s: %v", e.class, e.err)
}

func (e *fetchError) Unwrap() error { return e.err }

// batch is one upstream call of a refresh: some of the coins, every
// currency.
type batch struct {
	url   string
	coins []string
}

// batches splits the coins into as few /simple/price calls as MaxURLLength
// and MaxCoinsPerCall allow, in Config order. Ids are validated to
// [a-z0-9._-], so no escaping is needed.
func batches(cfg Config) ([]batch, error) {
	head := cfg.BaseURL + "/simple/price?ids="
	tail := "&vs_currencies=" + strings.Join(cfg.Currencies, ",") + "&include_last_updated_at=true"
	var out []batch
	var cur []string
	size := 0 // length of the ids in cur, with their commas
	flush := func() {
		if len(cur) > 0 {
			out = append(out, batch{url: head + strings.Join(cur, ",") + tail, coins: cur})
		}
		cur, size = nil, 0
	}
	for _, coin := range cfg.Coins {
		if len(head)+len(coin)+len(tail) > cfg.MaxURLLength {
			return nil, fmt.Errorf("cryptorates: MaxURLLength %d is too short for coin %q and the currencies", cfg.MaxURLLength, coin)
		}
		full := cfg.MaxCoinsPerCall > 0 && len(cur) == cfg.MaxCoinsPerCall
		if full || len(head)+size+1+len(coin)+len(tail) > cfg.MaxURLLength {
			flush()
		}
		if len(cur) > 0 {
			size++
		}
		cur, size = append(cur, coin), size+len(coin)
	}
	flush()
	return out, nil
}

// call makes one upstream call and decodes its body. ctx carries the
// HTTPTimeout. now is used to interpret Retry-After.
func (c *Client) call(ctx context.Context, url string, now time.Time) (rawPrices, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, c.fail(failNetwork, 0, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set(c.keyHeader, c.cfg.APIKey)
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if res != nil { // a redirect refused (see keyStaysHome); its body is closed
			return nil, c.fail(failStatus, res.StatusCode, err)
		}
		return nil, c.fail(classifyNetErr(err), 0, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; never much.
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
		fe := c.fail(failStatus, res.StatusCode, errors.New(http.StatusText(res.StatusCode)))
		switch {
		case res.StatusCode == http.StatusTooManyRequests:
			fe.class = failRateLimited
			if t, ok := parseRetryAfter(res.Header.Get("Retry-After"), now); ok {
				fe.retryAfter = minTime(t, now.Add(c.cfg.MaxRetryAfter))
			}
		case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
			fe.class = failAuth
		case res.StatusCode >= 500:
			fe.class = failServer
		}
		return nil, fe
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, c.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, c.fail(classifyNetErr(err), res.StatusCode, err)
	}
	if int64(len(body)) > c.cfg.MaxBodyBytes {
		return nil, c.fail(failInvalid, res.StatusCode, fmt.Errorf("body larger than %d bytes", c.cfg.MaxBodyBytes))
	}
	raw, err := decodePrices(body)
	if err != nil {
		return nil, c.fail(failInvalid, res.StatusCode, err)
	}
	return raw, nil
}

// fail is the error of a failed call, and the one place the client makes
// one, so that no error it records or logs quotes the API key: net/http puts
// what the upstream sent into some errors (a redirect's unparsable Location,
// which can carry the key it was sent), and the request URL around the rest
// (dropped).
func (c *Client) fail(class failClass, status int, err error) *fetchError {
	return &fetchError{class: class, status: status, err: redact.Error(redact.WithoutURL(err), c.secrets)}
}

// keyStaysHome returns a shallow copy of hc that follows no redirect to
// another host (or port) or scheme than the first request's: net/http
// forwards every header but a few standard ones to any host, and so would
// the API key's. Other redirects go through hc's own CheckRedirect, or
// net/http's default policy (at most 10).
func keyStaysHome(hc *http.Client) *http.Client {
	cp := *hc
	next := hc.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if home := via[0].URL; req.URL.Scheme != home.Scheme || !strings.EqualFold(req.URL.Host, home.Host) {
			return fmt.Errorf("refused a redirect to another host or scheme: the API key goes only to %s://%s", home.Scheme, home.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

func classifyNetErr(err error) failClass {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return failTimeout
	}
	return failNetwork
}

// rawPrices is a decoded response: coin -> currency -> value, with
// last_updated_at (Unix seconds) under its own key.
type rawPrices map[string]map[string]float64

const lastUpdatedKey = "last_updated_at"

// decodePrices parses a /simple/price body. It fails on anything but a JSON
// object of objects of numbers, and on a key that appears twice in an
// object: encoding/json keeps the last, so such a body could say two prices
// at once ("usd":90000 and "usd":0.0001). The values themselves are checked
// by validate.
func decodePrices(body []byte) (rawPrices, error) {
	var raw rawPrices
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("malformed response: %w", err)
	}
	if raw == nil {
		return nil, errors.New("malformed response: not an object")
	}
	n := len(raw)
	for _, m := range raw {
		n += len(m)
	}
	if members(body) != n {
		return nil, errors.New("malformed response: duplicate key")
	}
	return raw, nil
}

// members counts the members of every object in body, which is valid JSON
// whose only strings are keys: the colons outside strings.
func members(body []byte) int {
	n, inString := 0, false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case inString && c == '\\':
			i++ // skip the escaped byte
		case c == '"':
			inString = !inString
		case c == ':' && !inString:
			n++
		}
	}
	return n
}

// parseRetryAfter reads a Retry-After value in either of its forms:
// delay-seconds or an HTTP-date. A delay of more digits than a uint64 holds
// is the longest delay, not an absent one: the caller caps it.
func parseRetryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if strings.Trim(v, "0123456789") == "" { // delay-seconds: digits only
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil { // digits only, so ErrRange: too many of them
			n = math.MaxUint64
		}
		const maxSecs = uint64(math.MaxInt64 / int64(time.Second))
		return now.Add(time.Duration(min(n, maxSecs)) * time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// validate turns the decoded response of one batch into the prices to
// keep. Every pair of coins must be present as a finite, positive number
// that check accepts; other pairs keep their previous value. It returns a
// failInvalid error listing the rejections, if any: partial when some
// values are still usable.
func (c *Client) validate(raw rawPrices, coins []string, prev map[Pair]Price, now time.Time) (map[Pair]Price, error) {
	good := make(map[Pair]Price, len(coins)*len(c.cfg.Currencies))
	var problems []string
	for _, coin := range coins {
		m, ok := raw[coin]
		if !ok {
			problems = append(problems, coin+": missing")
			continue
		}
		var updated time.Time
		if s, ok := m[lastUpdatedKey]; ok && s > 0 && s < 1e11 {
			updated = time.Unix(int64(s), 0).UTC()
		}
		for _, cur := range c.cfg.Currencies {
			p := Pair{coin, cur}
			v, ok := m[cur]
			if !ok {
				problems = append(problems, p.String()+": missing")
				continue
			}
			pr, problem := c.check(p, v, prev, now)
			if problem != "" {
				problems = append(problems, problem)
				continue
			}
			pr.UpdatedAt = updated
			good[p] = pr
		}
	}
	if len(problems) == 0 {
		return good, nil
	}
	fe := c.fail(failInvalid, http.StatusOK, errors.New("values rejected: "+summary(problems)))
	fe.problems, fe.partial = problems, len(good) > 0
	return good, fe
}

// check accepts v for p, fetched at now, or says why not (see plausible).
func (c *Client) check(p Pair, v float64, prev map[Pair]Price, now time.Time) (Price, string) {
	base, at, problem := c.plausible(p, v, prev, now)
	if problem != "" {
		return Price{}, problem
	}
	return Price{Value: v, FetchedAt: now, Baseline: base, BaselineAt: at}, ""
}

// plausible says why v, a value for p at now, is to be rejected, or returns
// the baseline it is measured against and that baseline's time. With a
// last good value still servable, v must lie within MaxMove of the pair's
// baseline; once the baseline is MoveWindow old it is renewed, as of now,
// to the last good value, so renewals are more than MoveWindow apart.
// Without a last good value, v must lie within MaxStaticFactor of the
// static table's rate, when the table has the pair; it is its own baseline.
// A baseline is always a positive finite value.
func (c *Client) plausible(p Pair, v float64, prev map[Pair]Price, now time.Time) (float64, time.Time, string) {
	if !positiveFinite(v) {
		return 0, time.Time{}, fmt.Sprintf("%s: %v is not a positive finite value", p, v)
	}
	old, ok := prev[p]
	if ok && positiveFinite(old.Value) && now.Sub(old.FetchedAt) <= c.cfg.Fallback {
		base, at := old.Baseline, old.BaselineAt
		if !positiveFinite(base) || now.Sub(at) > c.cfg.MoveWindow {
			base, at = old.Value, now
		}
		if move := math.Abs(v-base) / base; c.cfg.MaxMove > 0 && move > c.cfg.MaxMove {
			return 0, time.Time{}, fmt.Sprintf("%s: %v moved %.0f%% from its baseline %v (limit %.0f%% per %v)",
				p, v, move*100, base, c.cfg.MaxMove*100, c.cfg.MoveWindow)
		}
		return base, at, ""
	}
	if ref, ok := c.cfg.Static.Rates[p]; ok && c.cfg.MaxStaticFactor > 0 {
		if f := c.cfg.MaxStaticFactor; v > ref*f || v < ref/f {
			return 0, time.Time{}, fmt.Sprintf("%s: first value %v is not within %vx of the static rate %v", p, v, f, ref)
		}
	}
	return v, now, ""
}

// positiveFinite reports whether v is a number above 0 and below +Inf.
func positiveFinite(v float64) bool { return v > 0 && !math.IsInf(v, 1) }
