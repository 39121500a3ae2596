package cryptorates

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzDecodePrices feeds arbitrary upstream bodies to the decoder and the
// validator. Properties: no panic; what the decoder accepts, encoding/json
// reads the same way (so a body with a repeated key, where encoding/json
// keeps the last, is never accepted); every value kept is a positive finite
// number of a configured pair, a first value lies within MaxStaticFactor of
// the static table and a later one within MaxMove of its baseline.
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
		if err != nil {
			if raw != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		var std map[string]map[string]*float64
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("accepted a body encoding/json rejects: %v", err)
		}
		for coin, m := range raw {
			for cur, v := range m {
				if sv := std[coin][cur]; sv == nil && !math.IsNaN(v) || sv != nil && *sv != v {
					t.Fatalf("%s/%s: decoded %v, encoding/json reads %v", coin, cur, v, sv)
				}
			}
		}
		for _, prices := range []map[Pair]Price{nil, prev} {
			res, _ := c.validate(raw, c.cfg.Coins, prices, now)
			for p, pr := range res.good {
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
