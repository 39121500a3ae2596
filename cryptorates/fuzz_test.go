package cryptorates

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzDecodePrices feeds arbitrary upstream bodies to the decoder and the
// validator. Properties: no panic; the decoder accepts exactly the bodies
// encoding/json reads as an object in which no key repeats (found here
// with encoding/json's token stream), so a body that says two prices for a
// pair is never taken; every value kept is a positive finite number of a
// configured pair, a first value lies within MaxStaticFactor of the static
// table and a later one within MaxMove of its baseline.
func FuzzDecodePrices(f *testing.F) {
	f.Add([]byte(goodBody("60000")))
	f.Add([]byte(`{"bitcoin":{"usd":67187.33,"eur":61000.1,"last_updated_at":1711356300}}`))
	f.Add([]byte(`{"bitcoin":{"usd":null}}`))
	f.Add([]byte(`{"bitcoin":null}`))
	f.Add([]byte(`{"bitcoin":{"usd":-1,"eur":0,"gbp":1e308}}`))
	f.Add([]byte(`{"bitcoin":{"usd":1e400}}`))
	f.Add([]byte(`{"bitcoin":{"usd":1e300}}`))
	f.Add([]byte(`{"bitcoin":{"usd":90000,"usd":0.0001}}`))
	f.Add([]byte(`{"bitcoin":{"usd":90000},"bitcoin":{"usd":0.0001}}`))
	f.Add([]byte(`{"bitcoin":[]}`))
	f.Add([]byte(`{"bitcoin":{"usd":"1"}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"bitcoin":{"usd":1,"last_updated_at":-1e300}}`))
	f.Add([]byte(`{"bitcoin":{"usd":1,"last_updated_at":1e300}}`))
	f.Add([]byte("\xff\xfe{"))
	f.Add([]byte(`{"bitcoin":{"usd":1}`))

	c, err := New(Config{Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	now := t0.Add(time.Minute)
	prev := map[Pair]Price{{"bitcoin", "usd"}: {Value: 60000, FetchedAt: t0, Baseline: 50000, BaselineAt: t0}}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := decodePrices(data)
		var std map[string]map[string]float64
		want := json.Unmarshal(data, &std) == nil && std != nil && !hasDuplicateKey(data)
		if (err == nil) != want {
			t.Fatalf("decoded with error %v; want accepted: %v", err, want)
		}
		if err != nil {
			if raw != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		for _, prices := range []map[Pair]Price{nil, prev} {
			res, _ := c.validate(raw, c.cfg.Coins, prices, now)
			for p, pr := range res {
				checkKept(t, c, p, pr, prices)
			}
		}
	})
}

func checkKept(t *testing.T, c *Client, p Pair, pr Price, prev map[Pair]Price) {
	t.Helper()
	if _, ok := c.pairs[p]; !ok {
		t.Fatalf("kept unconfigured pair %v", p)
	}
	if !(pr.Value > 0) || math.IsInf(pr.Value, 0) {
		t.Fatalf("kept %v for %v", pr.Value, p)
	}
	if old, ok := prev[p]; ok {
		if math.Abs(pr.Value-old.Baseline)/old.Baseline > c.cfg.MaxMove {
			t.Fatalf("kept a move from %v to %v", old.Baseline, pr.Value)
		}
		return
	}
	if ref := c.cfg.Static.Rates[p]; pr.Value > ref*c.cfg.MaxStaticFactor || pr.Value < ref/c.cfg.MaxStaticFactor {
		t.Fatalf("kept a first value %v for %v, static %v", pr.Value, p, ref)
	}
}

// hasDuplicateKey reports whether an object in body, at any depth, has a
// key twice. body must be valid JSON.
func hasDuplicateKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []map[string]bool // the keys of each open object; nil for an array
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	keyNext := true
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, map[string]bool{})
			keyNext = true
			continue
		case json.Delim('['):
			stack = append(stack, nil)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if k, ok := tok.(string); ok && expectKey() && keyNext {
				if stack[len(stack)-1][k] {
					return true
				}
				stack[len(stack)-1][k] = true
				keyNext = false
				continue
			}
		}
		keyNext = true // a value ended: in an object, a key comes next
	}
}

// FuzzMoveBound drives one pair through a hostile sequence of fetched
// values (each step: minutes since the last fetch, and a factor) and checks
// the class of defect behind "twelve +45% steps over 72 minutes were all
// accepted": between any two accepted values u at s and v at t, with n =
// floor((t-s)/MoveWindow)+1 baseline renewals at most between them (they
// are more than MoveWindow apart), each baseline within MaxMove (M) of the
// one before and each value within M of its baseline, so
// (1-M)^(n+1)/(1+M) <= v/u <= (1+M)^(n+1)/(1-M): for the twelve steps, at
// most 6.75× instead of 86×.
func FuzzMoveBound(f *testing.F) {
	twelve := []byte{}
	for range 12 {
		twelve = append(twelve, 6, 145) // +45% every 6 minutes
	}
	f.Add(twelve)
	f.Add([]byte{1, 149, 59, 149, 1, 149, 1, 149})
	f.Add([]byte{30, 51, 30, 51, 30, 51, 30, 51, 30, 51})
	c, err := New(Config{Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	p := Pair{"bitcoin", "usd"}
	m, w := c.cfg.MaxMove, c.cfg.MoveWindow
	f.Fuzz(func(t *testing.T, steps []byte) {
		now, v := t0, 93500.0
		first, problem := c.check(p, v, nil, now)
		if problem != "" {
			t.Fatal(problem)
		}
		prev := map[Pair]Price{p: first}
		chain := []Price{first} // accepted values since the last lapse past Fallback
		for i := 0; i+1 < len(steps); i += 2 {
			now = now.Add(time.Duration(1+int(steps[i])%30) * time.Minute)
			v *= float64(steps[i+1]) / 100 // 0 to 2.55×
			lapsed := now.Sub(prev[p].FetchedAt) > c.cfg.Fallback
			pr, problem := c.check(p, v, prev, now)
			if problem != "" {
				continue
			}
			if lapsed { // a first value again: bounded by the static table instead
				if r := v / 93500; r > c.cfg.MaxStaticFactor || r < 1/c.cfg.MaxStaticFactor {
					t.Fatalf("first value %v after a lapse accepted", v)
				}
				checkChain(t, chain, m, w)
				chain = nil
			}
			prev[p] = pr
			chain = append(chain, pr)
		}
		checkChain(t, chain, m, w)
	})
}

// checkChain checks the move bound between every two values of chain.
func checkChain(t *testing.T, chain []Price, m float64, w time.Duration) {
	t.Helper()
	for i, u := range chain {
		for _, x := range chain[i+1:] {
			n := float64(int(x.FetchedAt.Sub(u.FetchedAt)/w) + 1)
			r := x.Value / u.Value
			if hi, lo := math.Pow(1+m, n+1)/(1-m), math.Pow(1-m, n+1)/(1+m); r > hi*(1+1e-9) || r < lo*(1-1e-9) {
				t.Fatalf("%v at %v, then %v at %v: ratio %v outside [%v, %v]",
					u.Value, u.FetchedAt.Sub(t0), x.Value, x.FetchedAt.Sub(t0), r, lo, hi)
			}
		}
	}
}
