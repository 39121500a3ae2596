package sessionstore_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dedw3n/hardening/sessionstore"
)

// Line is a cart line.
type Line struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// newSessions is the marketplace's wiring: a PostgreSQL store on
// DATABASE_URL (its own pool, sized by SESSION_POOL_MAX_CONNS…), or memory
// when it is unset; secrets from SESSION_SECRET and SESSION_SECRET_PREVIOUS;
// Secure __Host- cookies in production. Close the returned store at
// shutdown.
func newSessions(getenv func(string) string, production bool) (*sessionstore.Manager, interface{ Close() error }, error) {
	var errs []error
	dur := func(name string) time.Duration {
		v := getenv(name)
		if v == "" {
			return 0 // the package default
		}
		d, err := time.ParseDuration(v)
		errs = append(errs, err)
		return d
	}
	var store interface {
		sessionstore.Store
		Close() error
	}
	if dsn := getenv("DATABASE_URL"); dsn != "" {
		maxConns, err := strconv.Atoi(or(getenv("SESSION_POOL_MAX_CONNS"), "0"))
		errs = append(errs, err)
		pg, err := sessionstore.NewPostgresStore(sessionstore.PostgresConfig{
			URL:            dsn,
			MaxConns:       int32(maxConns),
			ConnectTimeout: dur("SESSION_CONNECT_TIMEOUT"),
			PruneInterval:  dur("SESSION_PRUNE_INTERVAL"),
		})
		if err != nil {
			return nil, nil, err
		}
		store = pg
	} else {
		store = sessionstore.NewMemoryStore(sessionstore.MemoryConfig{})
	}
	secrets := [][]byte{[]byte(getenv("SESSION_SECRET"))}
	if prev := getenv("SESSION_SECRET_PREVIOUS"); prev != "" {
		secrets = append(secrets, []byte(prev))
	}
	m, err := sessionstore.NewManager(store, sessionstore.Config{
		Secrets:     secrets,
		IdleTimeout: dur("SESSION_TTL"),
		TouchAfter:  dur("SESSION_TOUCH_AFTER"),
		Cookie:      sessionstore.CookieConfig{HostPrefix: production, Insecure: !production},
	})
	if err = errors.Join(append(errs, err)...); err != nil {
		store.Close()
		return nil, nil, err
	}
	return m, store, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// routes are the marketplace's session handlers.
func routes(sessions *sessionstore.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		qty, _ := strconv.Atoi(r.FormValue("quantity"))
		line := Line{ProductID: r.FormValue("product_id"), Quantity: max(qty, 1)}
		// Update, not Get+Put: two tabs adding at once both count.
		err := sessionstore.Update(sessionstore.FromContext(r.Context()), "cart", func(cart *[]Line) error {
			*cart = append(*cart, line)
			return nil
		})
		if err != nil { // ErrTooLarge: the cart is full
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprintln(w, "added", line.ProductID)
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		cart, _, _ := sessionstore.Get[[]Line](s, "cart")
		name, _, _ := sessionstore.Get[string](s, "name")
		fmt.Fprintf(w, "%s: %v\n", or(name, "guest"), cart)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		name := r.FormValue("name") // (password check omitted)
		if err := errors.Join(s.RenewToken(), s.SetUserID(name), s.Put("name", name)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "welcome", name) // the cart is kept
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		_ = sessionstore.FromContext(r.Context()).Destroy()
		fmt.Fprintln(w, "bye")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Ready(r.Context()); err != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return sessions.Middleware(mux)
}

// Example shows the marketplace's wiring and its cart, login and logout
// handlers, with the Stats snapshot a metrics exporter would read.
func Example() {
	env := map[string]string{ // DATABASE_URL unset: memory store
		"SESSION_SECRET":      "a-secret-of-at-least-32-bytes-long!!",
		"SESSION_TTL":         "168h",
		"SESSION_TOUCH_AFTER": "2h",
	}
	sessions, store, err := newSessions(func(k string) string { return env[k] }, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	srv := httptest.NewServer(routes(sessions))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	call := func(method, path string, form url.Values) {
		res, err := client.Do(mustRequest(method, srv.URL+path, form))
		if err != nil {
			fmt.Println(err)
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		fmt.Print(string(body))
	}
	call("POST", "/cart", url.Values{"product_id": {"p1"}, "quantity": {"2"}})
	call("POST", "/login", url.Values{"name": {"alice"}})
	call("GET", "/cart", nil)
	call("POST", "/logout", nil)
	call("GET", "/cart", nil)
	call("GET", "/readyz", nil)
	fmt.Println("writes:", sessions.Stats().Writes)
	// Output:
	// added p1
	// welcome alice
	// alice: [{p1 2}]
	// bye
	// guest: []
	// ready
	// writes: 3
}

func mustRequest(method, target string, form url.Values) *http.Request {
	req, _ := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

// ExampleManager_Tolerant shows a storefront page that renders without
// its session while the session store is down (here a PostgreSQL nobody
// listens on), while the cart's routes answer 503.
func ExampleManager_Tolerant() {
	quiet := slog.New(slog.DiscardHandler)
	secret := []byte("a-secret-of-at-least-32-bytes-long!!")
	store, err := sessionstore.NewPostgresStore(sessionstore.PostgresConfig{URL: "postgres://shop@127.0.0.1:1/shop", Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	sessions, _ := sessionstore.NewManager(store, sessionstore.Config{Secrets: [][]byte{secret}, Logger: quiet})
	page := func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		cart, _, _ := sessionstore.Get[[]Line](s, "cart")
		if err := s.Err(); err != nil {
			fmt.Fprintln(w, "catalogue; cart unavailable")
			fmt.Fprintln(w, "can change the cart:", !errors.Is(s.Put("cart", nil), sessionstore.ErrUnavailable))
			return
		}
		fmt.Fprintf(w, "catalogue; %d lines in the cart\n", len(cart))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", sessions.Tolerant(http.HandlerFunc(page)))
	mux.Handle("GET /cart", sessions.Middleware(http.HandlerFunc(page)))

	// A returning visitor: a cookie signed with the secret, from a session
	// saved before the outage.
	cookie := signedCookie(secret)
	for _, path := range []string{"/", "/cart"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Print(path, ": ", rec.Code, " ", rec.Body.String())
	}
	// Output:
	// /: 200 catalogue; cart unavailable
	// can change the cart: false
	// /cart: 503 Service temporarily unavailable: sessions cannot be loaded or saved. Please retry.
}

// signedCookie returns a session cookie signed with secret, as a Manager on
// a working store sets it.
func signedCookie(secret []byte) *http.Cookie {
	store := sessionstore.NewMemoryStore(sessionstore.MemoryConfig{})
	defer store.Close()
	sessions, _ := sessionstore.NewManager(store, sessionstore.Config{Secrets: [][]byte{secret}})
	rec := httptest.NewRecorder()
	sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = sessionstore.FromContext(r.Context()).Put("cart", []Line{{"p1", 1}})
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Result().Cookies()[0]
}
