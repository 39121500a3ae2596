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
	"net/url"
	"strconv"
	"strings"
	"time"
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
	err        error
}

func (e *fetchError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("cryptorates: upstream %s (HTTP %d): %v", e.class, e.status, e.err)
	}
	return fmt.Sprintf("cryptorates: upstream %s: %v", e.class, e.err)
}

func (e *fetchError) Unwrap() error { return e.err }

// requestURL is the one URL that refreshes every configured coin and
// currency. Ids are validated to [a-z0-9._-], so no escaping is needed.
func requestURL(base string, coins, currencies []string) string {
	return base + "/simple/price?ids=" + strings.Join(coins, ",") +
		"&vs_currencies=" + strings.Join(currencies, ",") + "&include_last_updated_at=true"
}

// call makes one upstream call and decodes its body. ctx carries the
// HTTPTimeout. now is used to interpret Retry-After.
func (c *Client) call(ctx context.Context, now time.Time) (rawPrices, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, &fetchError{class: failNetwork, err: err}
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set(c.keyHeader, c.cfg.APIKey)
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, &fetchError{class: classifyNetErr(err), err: stripURL(err)}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; never much.
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
		fe := &fetchError{status: res.StatusCode, err: errors.New(http.StatusText(res.StatusCode))}
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
		default:
			fe.class = failStatus
		}
		return nil, fe
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, c.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, &fetchError{class: classifyNetErr(err), status: res.StatusCode, err: stripURL(err)}
	}
	if int64(len(body)) > c.cfg.MaxBodyBytes {
		return nil, &fetchError{class: failInvalid, status: res.StatusCode,
			err: fmt.Errorf("body larger than %d bytes", c.cfg.MaxBodyBytes)}
	}
	raw, err := decodePrices(body)
	if err != nil {
		return nil, &fetchError{class: failInvalid, status: res.StatusCode, err: err}
	}
	return raw, nil
}

func classifyNetErr(err error) failClass {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return failTimeout
	}
	return failNetwork
}

// stripURL drops the request URL that net/http wraps around transport
// errors: it is long, and logs already name the upstream once.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// rawPrices is a decoded response: coin -> currency -> value, with
// last_updated_at (Unix seconds) under its own key.
type rawPrices map[string]map[string]float64

const lastUpdatedKey = "last_updated_at"

// decodePrices parses a /simple/price body. It fails on anything but a JSON
// object of objects of numbers; the values themselves are checked by
// validate.
func decodePrices(body []byte) (rawPrices, error) {
	var raw rawPrices
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("malformed response: %w", err)
	}
	if raw == nil {
		return nil, errors.New("malformed response: not an object")
	}
	return raw, nil
}

// parseRetryAfter reads a Retry-After value in either of its forms:
// delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
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

// validate turns a decoded response into the prices to keep. Every
// configured pair must be present as a finite, positive number that does
// not move more than maxMove from the previous value still servable at
// now; other pairs keep their previous value. problems describes each
// rejection.
func (c *Client) validate(raw rawPrices, prev map[Pair]Price, now time.Time) (good map[Pair]Price, problems []string) {
	good = make(map[Pair]Price, len(c.cfg.Coins)*len(c.cfg.Currencies))
	for _, coin := range c.cfg.Coins {
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
			switch {
			case !ok:
				problems = append(problems, p.String()+": missing")
				continue
			case math.IsNaN(v) || math.IsInf(v, 0) || v <= 0:
				problems = append(problems, fmt.Sprintf("%s: %v is not a positive finite value", p, v))
				continue
			}
			if old, ok := prev[p]; ok && c.cfg.MaxMove > 0 && now.Sub(old.FetchedAt) <= c.cfg.Fallback {
				if move := math.Abs(v-old.Value) / old.Value; move > c.cfg.MaxMove {
					problems = append(problems, fmt.Sprintf("%s: %v moved %.0f%% from %v (limit %.0f%%)",
						p, v, move*100, old.Value, c.cfg.MaxMove*100))
					continue
				}
			}
			good[p] = Price{Value: v, UpdatedAt: updated, FetchedAt: now}
		}
	}
	return good, problems
}
