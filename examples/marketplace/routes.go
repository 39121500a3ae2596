package main

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dedw3n/hardening/examples/marketplace/metrics"
	"github.com/dedw3n/hardening/internal/httpjson"
	"github.com/dedw3n/hardening/sessionstore"
)

// routes is the server's HTTP surface. Session routes sit behind the session
// middleware, which answers 503 with Retry-After while the store is down,
// except the storefront: it renders without the cart during an outage.
// Static files and public objects stay outside it, so they never carry a
// cookie and a CDN may keep them. Every state-changing request passes Go's
// cross-origin protection first: a cross-site form or fetch is refused with
// 403 before any session is touched.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	withSession := a.sessions.Middleware

	mux.Handle("GET /{$}", a.sessions.Tolerant(http.HandlerFunc(a.storefront)))
	mux.HandleFunc("GET /api/products", a.products)
	mux.HandleFunc("GET /api/rates", a.ratesJSON)
	mux.Handle("GET /api/cart", withSession(http.HandlerFunc(a.getCart)))
	mux.Handle("POST /api/cart/items", withSession(http.HandlerFunc(a.addItem)))
	mux.Handle("POST /login", withSession(http.HandlerFunc(a.login)))
	mux.Handle("POST /logout", withSession(http.HandlerFunc(a.logout)))

	mux.Handle("/static/", http.StripPrefix("/static/", a.static))
	if a.public != nil {
		mux.Handle("/objects/public/", http.StripPrefix("/objects/public/", a.public))
	}
	if a.private != nil {
		mux.Handle("/objects/private/", withSession(requireUser(http.StripPrefix("/objects/private/", a.private))))
	}

	mux.Handle("/healthz", a.coord.Liveness())
	mux.Handle("/readyz", a.coord.Readiness())
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /status", a.status)
	mux.HandleFunc("GET /api/status", a.statusJSON)
	return metrics.HTTP(a.registry)(crossOriginProtection().Handler(mux))
}

// crossOriginProtection refuses non-safe requests that a browser marks as
// cross-site (Sec-Fetch-Site) or whose Origin is not this host, with a JSON
// 403. Requests without either header (curl, other services) pass.
func crossOriginProtection() *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	return p
}

// sessionError is the session middleware's ErrorHandler: the statuses of
// sessionstore's default (409 when the request's changes no longer apply
// after a concurrent one's, 503 with Retry-After when the store failed),
// answered in JSON like every other error of these routes.
func sessionError(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case errors.Is(err, sessionstore.ErrTooLarge):
		jsonError(w, http.StatusConflict, "the session is full once a concurrent request's changes are merged; this change was not saved")
	case errors.Is(err, sessionstore.ErrConflict):
		jsonError(w, http.StatusConflict, "a concurrent request changed the session and this change no longer applies; it was not saved")
	default:
		w.Header().Set("Retry-After", "5")
		jsonError(w, http.StatusServiceUnavailable, "sessions are unavailable; retry shortly")
	}
}

// jsonError answers {"error": msg}.
func jsonError(w http.ResponseWriter, code int, msg string) {
	httpjson.Write(w, code, map[string]string{"error": msg})
}
