package sessionstore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// prober drives a Manager directly: one request puts a raw JSON value,
// another reads what was stored and how large the session counts it.
type prober struct {
	m *Manager
}

func newProber(t testing.TB, store Store, maxSize int) prober {
	t.Helper()
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, MaxSize: maxSize, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(t, err)
	return prober{m}
}

// outcome is what one probe request saw.
type outcome struct {
	putErr  error           // what Put returned
	status  int             // the response's status
	cookie  string          // the session cookie set, if any
	value   json.RawMessage // the value under the key, as the session holds it
	size    int             // the session's accounted size
	encoded int             // the length of the session's data as saved
}

// do runs one request with cookie; when put is set it puts raw under key.
func (p prober) do(cookie, key string, raw json.RawMessage, put bool) outcome {
	var out outcome
	h := p.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		if put {
			out.putErr = s.Put(key, raw)
		}
		out.value, _, _ = Get[json.RawMessage](s, key)
		s.mu.Lock()
		if s.parseCanonical() == nil {
			out.size = s.size
			out.encoded = len(encode(s.values))
		}
		s.mu.Unlock()
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out.status = rec.Code
	for _, c := range rec.Result().Cookies() {
		out.cookie = c.Value
	}
	return out
}

// TestPutAcceptedNeverFailsAtSave is the regression test for the defect
// where PostgreSQL's jsonb gave back "<" where encoding/json had written
// "\u003c": the session counted smaller when read back, a second Put was
// accepted, and the save refused it with a 503.
func TestPutAcceptedNeverFailsAtSave(t *testing.T) {
	for _, b := range everyBackend() {
		t.Run(b.name, func(t *testing.T) {
			p := newProber(t, b.store(t), 300)
			first := p.do("", "a", json.RawMessage(`"`+strings.Repeat("<", 100)+`"`), true)
			require.NoError(t, first.putErr)
			require.Equal(t, http.StatusOK, first.status)
			assert.Equal(t, 2+len(`"a":`)+102, first.size, "a '<' counts one byte, as stored")

			second := p.do(first.cookie, "b", json.RawMessage(`"`+strings.Repeat("x", 150)+`"`), true)
			require.NoError(t, second.putErr)
			assert.Equal(t, http.StatusOK, second.status, "a Put accepted is saved")
			assert.Equal(t, 2+len(`"a":`)+102+1+len(`"b":`)+152, second.size)

			third := p.do(first.cookie, "c", json.RawMessage(`"`+strings.Repeat("y", 40)+`"`), true)
			require.ErrorIs(t, third.putErr, ErrTooLarge, "refused by Put, not at save")
			assert.Contains(t, third.putErr.Error(), "312 bytes, limit 300")
			assert.Equal(t, http.StatusOK, third.status, "the refusal is the handler's to answer")
		})
	}
}

// sizeCases are values whose spelling a store may change: escaping, key
// order, duplicate keys, whitespace, unicode escapes, numbers. want is the
// canonical form every store keeps and measures.
var sizeCases = []struct{ name, raw, want string }{
	{"html characters", `"<a href='x'>&amp;</a>"`, `"<a href='x'>&amp;</a>"`},
	{"escaped html characters", `"\u003ca\u003e\u0026"`, `"<a>&"`},
	{"key order", `{"bb":1,"a":2,"ccc":3}`, `{"a":2,"bb":1,"ccc":3}`},
	{"duplicate keys", `{"a":1,"a":2}`, `{"a":2}`},
	{"whitespace", "{ \"a\" : [ 1 ,\n 2 ] }", `{"a":[1,2]}`},
	{"unicode escape", `"caf\u00e9 \ud83d\ude00"`, `"café 😀"`},
	{"line separators", "\"\u2028\u2029\"", "\"\u2028\u2029\""},
	{"control characters", `"\u0001\t\/"`, `"\u0001\t/"`},
	{"large number", `1e300`, "1" + strings.Repeat("0", 300)},
	{"small number", `1.5e-7`, `0.00000015`},
	{"trailing zeros", `[1.50, 1.50e1, 100e-2, 0.00e5]`, `[1.50,15.0,1.00,0]`},
	{"negative zero", `[-0, -0.0]`, `[0,0.0]`},
	{"float", `3.141592653589793`, `3.141592653589793`},
}

// testSizeAccounting checks, on one store, that a value is measured at
// its canonical size when put and again when read back.
func testSizeAccounting(t *testing.T, b backend) {
	store := b.store(t)
	for _, c := range sizeCases {
		t.Run(c.name, func(t *testing.T) {
			p := newProber(t, store, 1<<16)
			want := 2 + len(`"v":`) + len(c.want)
			put := p.do("", "v", json.RawMessage(c.raw), true)
			require.NoError(t, put.putErr)
			require.Equal(t, http.StatusOK, put.status)
			assert.Equal(t, c.want, string(put.value))
			assert.Equal(t, want, put.size, "size when put")
			got := p.do(put.cookie, "v", nil, false)
			assert.Equal(t, c.want, string(got.value), "read back")
			assert.Equal(t, want, got.size, "size when read back")

			tight := newProber(t, store, want)
			assert.NoError(t, tight.do("", "v", json.RawMessage(c.raw), true).putErr, "fits a limit of exactly its size")
			tight = newProber(t, store, want-1)
			assert.ErrorIs(t, tight.do("", "v", json.RawMessage(c.raw), true).putErr, ErrTooLarge, "one byte less: refused")
		})
	}
}

// TestInvalidValues: what no store can hold is refused by Put (or
// SetUserID) with ErrInvalidValue, the same way on every store, never at
// save.
func TestInvalidValues(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for _, b := range everyBackend() {
		t.Run(b.name, func(t *testing.T) {
			p := newProber(t, b.store(t), 1<<20)
			for _, raw := range []string{`"a\u0000b"`, deep, `1e131072`, `1e-16384`, `0.5e-16383`, `1e999999999999999999`} {
				out := p.do("", "v", json.RawMessage(raw), true)
				assert.ErrorIs(t, out.putErr, ErrInvalidValue, "%.40s", raw)
				assert.Equal(t, http.StatusOK, out.status)
				assert.Empty(t, out.cookie, "nothing to save")
			}
			for _, key := range []string{"a\x00b", "\xff"} {
				assert.ErrorIs(t, p.do("", key, json.RawMessage(`1`), true).putErr, ErrInvalidValue, "key %q", key)
			}
			for _, user := range []string{"a\x00b", "\xff", strings.Repeat("u", maxUserIDLen+1)} {
				var err error
				rec := httptest.NewRecorder()
				p.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					err = FromContext(r.Context()).SetUserID(user)
				})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
				assert.ErrorIs(t, err, ErrInvalidValue, "user ID %q", user)
				assert.Equal(t, http.StatusOK, rec.Code, "refused by SetUserID, not at save")
				assert.Empty(t, rec.Result().Cookies())
			}
			edge := p.do("", "v", json.RawMessage(`[1e131071, 1e-16383]`), true)
			require.NoError(t, edge.putErr, "numeric's limits themselves are accepted")
			assert.Equal(t, http.StatusOK, edge.status)
			assert.Equal(t, string(edge.value), string(p.do(edge.cookie, "v", nil, false).value))

			// The longest user ID accepted is saved by every store
			// (PostgreSQL indexes it; 3000 bytes failed there at save).
			long := hex.EncodeToString(bytes.Repeat([]byte{0x5a, 0x17, 0xc3}, maxUserIDLen/6)) + "abcd"
			require.Len(t, long, maxUserIDLen)
			var err error
			rec := httptest.NewRecorder()
			p.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err = FromContext(r.Context()).SetUserID(long)
			})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.NotEmpty(t, rec.Result().Cookies(), "saved")
		})
	}
}

// TestMergedChangesTooLarge: changes accepted by Put that no longer fit
// once replayed on a session a concurrent request made larger are a 409
// (no Retry-After: retrying the same request cannot help), not a 503.
func TestMergedChangesTooLarge(t *testing.T) {
	for _, b := range everyBackend() {
		t.Run(b.name, func(t *testing.T) {
			a := newApp(t, b.store(t), Config{MaxSize: 300})
			ck := a.newSession(t)
			loaded, proceed := make(chan struct{}), make(chan struct{})
			a.setGate(func() {
				a.setGate(nil)
				close(loaded)
				<-proceed
			})
			done := make(chan response)
			go func() { done <- a.do(t, http.MethodPost, "/put?k=mine&v="+strings.Repeat("m", 150), ck) }()
			<-loaded // the request has its session; another one grows it
			res := a.do(t, http.MethodPost, "/put?k=theirs&v="+strings.Repeat("t", 150), ck)
			require.Equal(t, http.StatusOK, res.status)
			close(proceed)
			res = <-done
			assert.Equal(t, http.StatusConflict, res.status, res.body)
			assert.Empty(t, res.header.Get("Retry-After"))
			assert.Contains(t, res.body, "session is full")
			assert.Contains(t, a.logs.String(), "a concurrent request saved")
		})
	}
}

// FuzzPutAcceptedIsSaved is the property behind the size accounting: on
// every store, a Put that returned nil is saved, the value reads back
// identically and at the same size, and the stores agree on all of it.
func FuzzPutAcceptedIsSaved(f *testing.F) {
	for _, c := range sizeCases {
		f.Add(c.raw)
	}
	for _, s := range []string{`"` + strings.Repeat("<", 140) + `"`, `{"a":{"b":[true,false,null]}}`, `1E+2`, `-12.5e-3`, `"\u0000"`, `[[[]]]`, "\"\xff\"", `{}`, `9e99`} {
		f.Add(s)
	}
	mem := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	f.Cleanup(func() { mem.Close() })
	stores := []Store{mem, fuzzPG(f)}
	f.Fuzz(func(t *testing.T, raw string) {
		var first []outcome
		for _, store := range stores {
			p := newProber(t, store, 300)
			put := p.do("", "k", json.RawMessage(raw), true)
			if put.putErr != nil {
				assert.Empty(t, put.cookie)
				first = append(first, put)
				continue
			}
			require.Equal(t, http.StatusOK, put.status, "Put accepted ⇒ saved")
			back := p.do(put.cookie, "k", nil, false)
			assert.Equal(t, string(put.value), string(back.value), "reads back identically")
			assert.Equal(t, put.size, back.size, "same size read back")
			assert.Equal(t, back.encoded, back.size, "the size counted is the size saved")
			again := p.do(put.cookie, "k2", json.RawMessage(raw), true)
			if again.putErr == nil {
				assert.Equal(t, http.StatusOK, again.status, "a second Put accepted on data read back ⇒ saved")
			} else {
				assert.ErrorIs(t, again.putErr, ErrTooLarge)
			}
			first = append(first, back)
		}
		assert.Equal(t, first[0].putErr == nil, first[1].putErr == nil, "the stores agree on Put")
		assert.Equal(t, string(first[0].value), string(first[1].value), "the stores keep the same bytes")
		assert.Equal(t, first[0].size, first[1].size, "the stores count the same size")
	})
}

// fuzzPG returns an initialised PostgresStore for a fuzz target.
func fuzzPG(f *testing.F) Store {
	f.Helper()
	s := newPG(f, PostgresConfig{URL: pgtest.DB(f)})
	waitReady(f, s, 10*time.Second)
	return s
}

// TestPutOfExpandingNumbersIsRefusedCheaply: a few bytes of JSON can stand
// for a huge canonical form ("1e131071" is a number of 128 KiB). Put
// refuses it with ErrTooLarge before writing it out: 1.8 KB of them once
// took 153 MB and half a second, and a 1 MiB request body would have taken
// gigabytes.
func TestPutOfExpandingNumbersIsRefusedCheaply(t *testing.T) {
	a := newApp(t, NewMemoryStore(MemoryConfig{PruneInterval: -1}), Config{})
	raw := []byte("[" + strings.Repeat("1e131071,", 199) + "1e131071]")
	var putErr, updateErr error
	var before, after runtime.MemStats
	h := a.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		runtime.ReadMemStats(&before)
		putErr = s.Put("draft", json.RawMessage(raw))
		updateErr = Update(s, "draft", func(v *json.RawMessage) error { *v = raw; return nil })
		runtime.ReadMemStats(&after)
	}))
	h.ServeHTTP(newRecorder(), mustRequest(t, ""))
	require.ErrorIs(t, putErr, ErrTooLarge)
	require.ErrorIs(t, updateErr, ErrTooLarge)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "allocated while refusing")
}

// TestUpdateRefusedOnReplayIsAConflict: an Update function that refuses the
// value it is given on replay (an application rule: at most two items) is
// answered 409 like a change that no longer fits, not 503 as an outage, and
// is not counted as a store error.
func TestUpdateRefusedOnReplayIsAConflict(t *testing.T) {
	for _, b := range everyBackend() {
		t.Run(b.name, func(t *testing.T) {
			a := newApp(t, b.store(t), Config{})
			ck := a.newSession(t) // a cart of one item
			var arrived sync.WaitGroup
			arrived.Add(2)
			gate := make(chan struct{})
			h := a.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived.Done()
				<-gate // both loaded the one-item cart
				err := Update(FromContext(r.Context()), "cart", func(c *[]item) error {
					if len(*c) >= 2 {
						return errors.New("cart full")
					}
					*c = append(*c, item{ProductID: r.URL.Query().Get("id"), Quantity: 1})
					return nil
				})
				if err != nil {
					http.Error(w, "cart full", http.StatusUnprocessableEntity)
				}
			}))
			codes := make([]int, 2)
			bodies := make([]string, 2)
			var wg sync.WaitGroup
			for i := range codes {
				wg.Go(func() {
					rec, req := newRecorder(), mustRequest(t, a.m.cfg.Cookie.Name+"="+ck)
					req.URL.RawQuery = "id=" + strconv.Itoa(i)
					h.ServeHTTP(rec, req)
					codes[i], bodies[i] = rec.Code, rec.Body.String()
				})
			}
			arrived.Wait()
			close(gate)
			wg.Wait()
			slices.Sort(codes)
			assert.Equal(t, []int{http.StatusOK, http.StatusConflict}, codes, "%q", bodies)
			assert.Contains(t, strings.Join(bodies, ""), "no longer apply")
			assert.Zero(t, a.m.Stats().Errors, "no store operation failed")
			assert.Len(t, a.get(t, ck).Cart, 2)
		})
	}
}
