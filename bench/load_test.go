package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedw3n/hardening/sessionstore"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

var testSecret = []byte("bench-secret-0123456789abcdef-0123456789")

// sessionApp is the application the session fault tests load: the
// sessionstore middleware over a PostgresStore, on a real HTTP server.
type sessionApp struct {
	srv   *httptest.Server
	mgr   *sessionstore.Manager
	store *sessionstore.PostgresStore
}

// newSessionApp serves POST /w?k=&v= (puts v under k: a write) and GET /r
// (reads the session's keys) through the Manager's middleware.
func newSessionApp(t testing.TB, pc sessionstore.PostgresConfig) *sessionApp {
	t.Helper()
	store, err := sessionstore.NewPostgresStore(pc)
	require.NoError(t, err)
	mgr, err := sessionstore.NewManager(store, sessionstore.Config{
		Secrets: [][]byte{testSecret},
		Cookie:  sessionstore.CookieConfig{Insecure: true},
		Logger:  discardLogger(),
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /w", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		if err := s.Put(r.FormValue("k"), r.FormValue("v")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /r", func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, len(sessionstore.FromContext(r.Context()).Keys()))
	})
	app := &sessionApp{srv: httptest.NewServer(mgr.Middleware(mux)), mgr: mgr, store: store}
	t.Cleanup(func() {
		app.srv.Close()
		_ = store.Close()
	})
	return app
}

// sample is one request of the load.
type sample struct {
	start, end time.Time
	status     int // 0: transport error
	write      bool
}

// load drives a sessionApp with workers that alternate writes of unique keys
// and reads, each worker holding a session (a new one every 40 writes), and
// keeps every acknowledged write.
type load struct {
	app   *sessionApp
	tr    *http.Transport
	phase atomic.Value // string: the fault in force, tagged on each write

	mu       sync.Mutex // protects the fields below
	acked    map[string]ackedWrite
	samples  []sample
	switches int // a 200 that silently gave a worker a different session
}

type ackedWrite struct {
	value, phase string
}

func newLoad(app *sessionApp) *load {
	l := &load{
		app:   app,
		tr:    &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		acked: make(map[string]ackedWrite),
	}
	l.phase.Store("baseline")
	return l
}

// run starts workers until ctx ends; wait returns once they all stopped.
func (l *load) run(ctx context.Context, workers int) (wait func()) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.worker(ctx, w)
		}()
	}
	return func() {
		wg.Wait()
		l.tr.CloseIdleConnections()
	}
}

func (l *load) worker(ctx context.Context, w int) {
	var (
		jar    http.CookieJar
		cookie string
		writes int
		base   = l.app.srv.URL
	)
	newJar := func() {
		jar, _ = cookiejar.New(nil)
		cookie = ""
	}
	newJar()
	u, _ := url.Parse(base)
	for seq := 0; ctx.Err() == nil; seq++ {
		if writes == 40 {
			newJar()
			writes = 0
		}
		write := seq%2 == 0
		client := &http.Client{Transport: l.tr, Jar: jar, Timeout: 30 * time.Second}
		var (
			req       *http.Request
			key, val  string
			phase     = l.phase.Load().(string)
			err       error
			startedAt = time.Now()
		)
		if write {
			key = fmt.Sprintf("w%d-%d", w, seq)
			val = fmt.Sprintf("v%d", seq*7919+w)
			req, err = http.NewRequest(http.MethodPost, base+"/w?"+url.Values{"k": {key}, "v": {val}}.Encode(), nil)
		} else {
			req, err = http.NewRequest(http.MethodGet, base+"/r", nil)
		}
		if err != nil {
			panic(err)
		}
		resp, err := client.Do(req)
		s := sample{start: startedAt, write: write}
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			s.status = resp.StatusCode
		}
		s.end = time.Now()
		l.mu.Lock()
		l.samples = append(l.samples, s)
		if s.status == http.StatusOK {
			var now string
			for _, c := range jar.Cookies(u) {
				if c.Name == "session" {
					now = c.Value
				}
			}
			if cookie != "" && now != cookie {
				l.switches++
			}
			cookie = now
			if write {
				l.acked[key] = ackedWrite{value: val, phase: phase}
				writes++
			}
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Millisecond):
		}
	}
}

// probe makes writes on a fresh session until one is acknowledged, and
// returns how long that took; it fails the test after limit.
func (l *load) probe(t testing.TB, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	client := &http.Client{Transport: l.tr, Timeout: 30 * time.Second}
	for i := 0; ; i++ {
		key := fmt.Sprintf("probe-%d-%d", start.UnixNano(), i)
		resp, err := client.Post(l.app.srv.URL+"/w?"+url.Values{"k": {key}, "v": {"p"}}.Encode(), "", nil)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				l.mu.Lock()
				l.acked[key] = ackedWrite{value: "p", phase: "probe"}
				l.mu.Unlock()
				return time.Since(start)
			}
		}
		if time.Since(start) > limit {
			t.Fatalf("no acknowledged write within %v of the fault ending", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// window summarises the samples that started in [from, to).
type window struct {
	requests, writesOK int
	max, p99           time.Duration
}

func (l *load) window(from, to time.Time) window {
	l.mu.Lock()
	defer l.mu.Unlock()
	var w window
	var lat []time.Duration
	for _, s := range l.samples {
		if s.start.Before(from) || !s.start.Before(to) {
			continue
		}
		w.requests++
		if s.write && s.status == http.StatusOK {
			w.writesOK++
		}
		lat = append(lat, s.end.Sub(s.start))
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		w.max = lat[len(lat)-1]
		w.p99 = lat[(len(lat)*99)/100]
	}
	return w
}

// transportErrors counts requests that got no HTTP answer at all.
func (l *load) transportErrors() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.samples {
		if s.status == 0 {
			n++
		}
	}
	return n
}

// verify reads every row of the sessions table over a direct connection
// and returns, by phase, the acknowledged writes and those not found.
func (l *load) verify(t testing.TB, dsn string) (acked, lost map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT data FROM sessions")
	require.NoError(t, err)
	found := make(map[string]string)
	nrows := 0
	for rows.Next() {
		var data []byte
		require.NoError(t, rows.Scan(&data))
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(data, &m))
		for k, raw := range m {
			var v string
			if json.Unmarshal(raw, &v) == nil {
				found[k] = v
			}
		}
		nrows++
	}
	require.NoError(t, rows.Err())
	l.mu.Lock()
	defer l.mu.Unlock()
	acked, lost = make(map[string]int), make(map[string]int)
	var missing []string
	for k, a := range l.acked {
		acked[a.phase]++
		if found[k] != a.value {
			lost[a.phase]++
			missing = append(missing, k)
		}
	}
	require.NotEmpty(t, l.acked, "no write was acknowledged at all")
	t.Logf("verified %d acknowledged writes against %d rows", len(l.acked), nrows)
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("%d acknowledged writes not in the database, e.g. %s", len(missing), strings.Join(missing[:min(len(missing), 10)], ", "))
	}
	return acked, lost
}
