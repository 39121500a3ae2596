package cryptorates

import (
	"math"
	"testing"
	"time"
)

// FuzzDecodePrices feeds arbitrary upstream bodies to the decoder and the
// validator: no panic, and every value kept is a positive finite number of
// a configured pair.
func FuzzDecodePrices(f *testing.F) {
	f.Add([]byte(goodBody("60000")))
	f.Add([]byte(`{"bitcoin":{"usd":67187.33,"eur":61000.1,"last_updated_at":1711356300}}`))
	f.Add([]byte(`{"bitcoin":{"usd":null}}`))
	f.Add([]byte(`{"bitcoin":{"usd":-1,"eur":0,"gbp":1e308}}`))
	f.Add([]byte(`{"bitcoin":{"usd":1e400}}`))
	f.Add([]byte(`{"bitcoin":[]}`))
	f.Add([]byte(`{"bitcoin":{"usd":"1"}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"bitcoin":{"usd":1,"last_updated_at":-1e300}}`))
	f.Add([]byte(`{"bitcoin":{"usd":1,"last_updated_at":1e300}}`))
	f.Add([]byte("\xff\xfe{"))
	f.Add([]byte(`{"bitcoin":{"usd":1}`))

	c, err := New(Config{Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	prev := map[Pair]Price{{"bitcoin", "usd"}: {Value: 60000, FetchedAt: t0}}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := decodePrices(data)
		if err != nil {
			if raw != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		for _, prices := range []map[Pair]Price{nil, prev} {
			good, _ := c.validate(raw, prices, t0.Add(time.Minute))
			for p, pr := range good {
				if _, ok := c.pairs[p]; !ok {
					t.Fatalf("kept unconfigured pair %v", p)
				}
				if !(pr.Value > 0) || math.IsInf(pr.Value, 0) {
					t.Fatalf("kept %v for %v", pr.Value, p)
				}
				if p == (Pair{"bitcoin", "usd"}) && prices != nil && math.Abs(pr.Value-60000)/60000 > 0.5 {
					t.Fatalf("kept a move to %v", pr.Value)
				}
			}
		}
	})
}
