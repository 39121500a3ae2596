// Command quickstart composes every package correctly in one file: run it
// with `go run ./examples/quickstart` and open http://localhost:8080/.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/dedw3n/hardening/cdncache"
	"github.com/dedw3n/hardening/configcheck"
	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/sessionstore"
	"github.com/dedw3n/hardening/shutdown"
)

var rules = &configcheck.RuleSet{EnvVar: "APP_ENV", Vars: []configcheck.Var{
	{Name: "APP_ENV", Default: "development", Rules: []configcheck.Rule{configcheck.OneOf("development", "production")}},
	{Name: "PORT", Default: "8080", Rules: []configcheck.Rule{configcheck.IntBetween(0, 65535)}},
	{Name: "STATIC_DIR", Default: ".", Rules: []configcheck.Rule{configcheck.NonEmpty()}},
	{Name: "SESSION_SECRET", Secret: true, Rules: []configcheck.Rule{ // random per process in development
		configcheck.Required().In(configcheck.Production), configcheck.MinLen(32), configcheck.Strong()}},
	{Name: "COINGECKO_API_KEY", Secret: true},
}}

func main() {
	rep := rules.Load(configcheck.Source{}) // the process environment, checked once
	err := rep.Err()
	if err != nil {
		_ = rep.WriteText(os.Stderr) // every problem at once, never a secret
	} else if err = run(rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if err != nil {
		os.Exit(1)
	}
}

func run(rep *configcheck.Report) error {
	coord := shutdown.New(shutdown.Config{}) // drain, then hooks newest first, within 10 s
	rates, err := cryptorates.New(cryptorates.Config{APIKey: rep.Secret("COINGECKO_API_KEY").Reveal()})
	if err != nil {
		return err
	}
	coord.Register("rates", func(context.Context) error { return rates.Close() })
	store := sessionstore.NewMemoryStore(sessionstore.MemoryConfig{}) // or NewPostgresStore
	coord.Register("sessions", func(context.Context) error { return store.Close() })
	secret := rep.Secret("SESSION_SECRET").Reveal()
	if secret == "" {
		secret = rand.Text() + rand.Text()
	}
	sessions, err := sessionstore.NewManager(store, sessionstore.Config{Secrets: [][]byte{[]byte(secret)},
		Cookie: sessionstore.CookieConfig{Insecure: rep.Value("APP_ENV") != "production"}})
	if err != nil {
		return err
	}
	app := http.NewServeMux() // routes that need the session
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		visits, _, _ := sessionstore.Get[int](s, "visits")
		_ = s.Put("visits", visits+1)
		q, _ := rates.Rate(r.Context(), "bitcoin", "usd") // a value from some tier, or the static table
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"visits": visits + 1, "bitcoin": q})
	})
	static := cdncache.New(cdncache.Config{}, cdncache.Dir(rep.Value("STATIC_DIR")))
	coord.Register("static", func(context.Context) error { return static.Close() })
	mux := http.NewServeMux() // static files stay outside the session: no cookie, no Vary: Cookie
	mux.Handle("/static/", http.StripPrefix("/static/", static))
	mux.Handle("/readyz", coord.Readiness()) // 503 while draining
	mux.Handle("/", sessions.Middleware(app))
	defer coord.HandleSignals()()                           // SIGINT/SIGTERM: readiness 503, drain, shut down
	handler := http.NewCrossOriginProtection().Handler(mux) // no cross-site state changes
	return coord.Serve(&http.Server{Addr: fmt.Sprintf(":%d", rep.Int("PORT")), Handler: handler}, nil)
}
