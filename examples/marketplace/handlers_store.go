package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/internal/httpjson"
	"github.com/dedw3n/hardening/sessionstore"
)

// productJSON is one entry of GET /api/products.
type productJSON struct {
	product
	Prices map[string]float64 `json:"prices"`
}

// usdQuotes returns the USD quote of every configured coin that any tier
// knows. It never fails: an unknown coin is simply left out.
func (a *app) usdQuotes(ctx context.Context) []cryptorates.Quote {
	pairs := make([]cryptorates.Pair, len(a.cfg.RatesCoins))
	for i, c := range a.cfg.RatesCoins {
		pairs[i] = cryptorates.Pair{Coin: c, Currency: catalogCurrency}
	}
	quotes, err := a.rates.Rates(ctx, pairs...)
	if err != nil && !errors.Is(err, cryptorates.ErrUnknownPair) {
		a.log.Warn("rates", "err", err)
	}
	return quotes
}

// pricedCatalog is the catalog with each price in every coin.
func (a *app) pricedCatalog(quotes []cryptorates.Quote) []productJSON {
	out := make([]productJSON, len(catalog))
	for i, p := range catalog {
		out[i] = productJSON{product: p, Prices: map[string]float64{}}
		for _, q := range quotes {
			if q.Value > 0 {
				out[i].Prices[q.Coin] = p.PriceUSD / q.Value
			}
		}
	}
	return out
}

func (a *app) products(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{"products": a.pricedCatalog(a.usdQuotes(r.Context()))})
}

// ratesJSON answers every configured pair, each in cryptorates.Quote's own
// JSON form; always 200 while any tier has a value, 503 only when no tier
// knows any pair.
func (a *app) ratesJSON(w http.ResponseWriter, r *http.Request) {
	quotes, err := a.rates.Rates(r.Context())
	if len(quotes) == 0 {
		a.log.Warn("no rates to serve", "err", err)
		jsonError(w, http.StatusServiceUnavailable, "no exchange rates available")
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"rates": quotes, "breaker": a.rates.Stats().Breaker})
}

// ratesNote says in a shopper's words where the crypto prices come from,
// going by the least current quote: "live", "updated 7 min ago", or
// "reference prices from 1 Jan 2025, live prices unavailable". class is
// "live", "stale" or "reference", for the page's style.
func ratesNote(quotes []cryptorates.Quote) (note, class string) {
	if len(quotes) == 0 {
		return "unavailable", "reference"
	}
	worst := quotes[0]
	for _, q := range quotes[1:] {
		if q.Reference && !worst.Reference || q.Reference == worst.Reference && q.Age > worst.Age {
			worst = q
		}
	}
	switch {
	case worst.Reference:
		return "reference prices from " + worst.FetchedAt.Format("2 Jan 2006") + ", live prices unavailable", "reference"
	case worst.Tier == cryptorates.TierFresh:
		return "live", "live"
	}
	return "updated " + ago(worst.Age), "stale"
}

// ago is a rounded duration in words: "1 min ago", "7 min ago", "2 h ago".
func ago(d time.Duration) string {
	if d < 2*time.Hour {
		return fmt.Sprintf("%d min ago", max(1, int(d.Round(time.Minute)/time.Minute)))
	}
	return fmt.Sprintf("%d h ago", int(d.Round(time.Hour)/time.Hour))
}

// pageData feeds the storefront template.
type pageData struct {
	Products  []pageProduct
	CartCount int
	Cart      []cartLine
	// SessionsDown: the session store is unreachable; the page shows no
	// cart and no user.
	SessionsDown bool
	User         string
	// RatesNote says where the crypto prices come from (see ratesNote), and
	// RatesClass styles it.
	RatesNote  string
	RatesClass string
}

type pageProduct struct {
	product
	Crypto []coinPrice
}

type coinPrice struct {
	Coin   string
	Amount float64
}

func (a *app) storefront(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	cart, err := loadCart(s)
	if err != nil {
		a.log.Warn("storefront: unreadable cart", "err", err)
	}
	quotes := a.usdQuotes(r.Context())
	data := pageData{CartCount: cart.count(), Cart: cart.lines(), SessionsDown: s.Err() != nil, User: s.UserID()}
	data.RatesNote, data.RatesClass = ratesNote(quotes)
	for _, p := range a.pricedCatalog(quotes) {
		pp := pageProduct{product: p.product}
		for _, q := range quotes {
			if v, ok := p.Prices[q.Coin]; ok {
				pp.Crypto = append(pp.Crypto, coinPrice{Coin: q.Coin, Amount: v})
			}
		}
		data.Products = append(data.Products, pp)
	}
	// Render into a buffer, so that a template error is a clean 500 and
	// not half a page.
	var buf bytes.Buffer
	if err := a.page.Execute(&buf, data); err != nil {
		a.log.Error("storefront template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
