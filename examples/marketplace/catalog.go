package main

// product is an item for sale. Prices are in US dollars; crypto prices are
// derived from the current rates at request time.
type product struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	PriceUSD float64 `json:"price_usd"`
	Image    string  `json:"image"`
}

// catalog is the demo marketplace's fixed product list.
var catalog = []product{
	{ID: "lamp", Name: "Brass desk lamp", PriceUSD: 89.00, Image: "/static/lamp.svg"},
	{ID: "mug", Name: "Stoneware mug", PriceUSD: 18.50, Image: "/static/mug.svg"},
	{ID: "chair", Name: "Oak reading chair", PriceUSD: 420.00, Image: "/static/chair.svg"},
	{ID: "rug", Name: "Wool rug", PriceUSD: 260.00, Image: "/static/rug.svg"},
}

func findProduct(id string) (product, bool) {
	for _, p := range catalog {
		if p.ID == id {
			return p, true
		}
	}
	return product{}, false
}
