package main

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/dedw3n/hardening/internal/httpjson"
	"github.com/dedw3n/hardening/sessionstore"
)

// maxBody bounds request bodies: larger ones get 413.
const maxBody = 1 << 20

// cartKey is where the cart lives in the session.
const cartKey = "cart"

type cartItem struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

type cart []cartItem

func (c cart) count() int {
	n := 0
	for _, it := range c {
		n += it.Quantity
	}
	return n
}

// add puts quantity more of id in the cart.
func (c *cart) add(id string, quantity int) {
	for i := range *c {
		if (*c)[i].ProductID == id {
			(*c)[i].Quantity += quantity
			return
		}
	}
	*c = append(*c, cartItem{ProductID: id, Quantity: quantity})
}

// cartLine is one line of the cart as the storefront shows it.
type cartLine struct {
	ProductID string
	Name      string
	Quantity  int
	TotalUSD  float64
}

// lines names each item of the cart and prices it; items no longer in the
// catalog are left out.
func (c cart) lines() []cartLine {
	out := make([]cartLine, 0, len(c))
	for _, it := range c {
		if p, ok := findProduct(it.ProductID); ok {
			out = append(out, cartLine{ProductID: p.ID, Name: p.Name, Quantity: it.Quantity, TotalUSD: p.PriceUSD * float64(it.Quantity)})
		}
	}
	return out
}

func loadCart(s *sessionstore.Session) (cart, error) {
	c, _, err := sessionstore.Get[cart](s, cartKey)
	return c, err
}

// writeCart answers GET /api/cart's shape: items and the user, or null.
// The body is the session as saved: httpjson.Write starts the response,
// which commits the session (a change another tab saved meanwhile is merged
// by replaying this request's changes on it), before it encodes the body,
// and cartBody reads the session only then. A body built before the commit
// would show a cart that was never stored.
func writeCart(w http.ResponseWriter, s *sessionstore.Session) {
	if _, err := loadCart(s); err != nil {
		jsonError(w, http.StatusInternalServerError, "unreadable cart")
		return
	}
	httpjson.Write(w, http.StatusOK, cartBody{s})
}

// cartBody encodes the session's cart and user when it is encoded, that is
// once the response has started and the session is saved.
type cartBody struct{ s *sessionstore.Session }

func (b cartBody) MarshalJSON() ([]byte, error) {
	c, err := loadCart(b.s)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = cart{}
	}
	var user *string
	if u := b.s.UserID(); u != "" {
		user = &u
	}
	return json.Marshal(map[string]any{"items": c, "user": user})
}

func (a *app) getCart(w http.ResponseWriter, r *http.Request) {
	writeCart(w, sessionstore.FromContext(r.Context()))
}

// mediaType is the request's Content-Type without parameters, or "".
func mediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// decodeBody reads one JSON value of at most maxBody bytes into v, answering
// 415, 413 or 400 itself when it cannot. Only application/json is read: the
// content types a cross-site form can send without a preflight never are.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if mediaType(r) != "application/json" {
		jsonError(w, http.StatusUnsupportedMediaType, "send Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	err := dec.Decode(v)
	if err == nil { // only white space may follow (dec.More misses a stray ']' or '}')
		if _, err = dec.Token(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err != nil {
		refuseBody(w, err, "malformed JSON body")
		return false
	}
	return true
}

// refuseBody answers a request whose body could not be read: 413 when it
// is over maxBody, otherwise 400 saying what was malformed.
func refuseBody(w http.ResponseWriter, err error, malformed string) {
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		jsonError(w, http.StatusRequestEntityTooLarge, "request body over 1 MiB")
		return
	}
	jsonError(w, http.StatusBadRequest, malformed)
}

func (a *app) addItem(w http.ResponseWriter, r *http.Request) {
	var in cartItem
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Quantity < 1 || in.Quantity > 99 {
		jsonError(w, http.StatusBadRequest, "quantity must be between 1 and 99")
		return
	}
	if _, ok := findProduct(in.ProductID); !ok {
		jsonError(w, http.StatusNotFound, "unknown product")
		return
	}
	s := sessionstore.FromContext(r.Context())
	// Update merges with concurrent requests on the same session: two tabs
	// adding to one cart both count.
	err := sessionstore.Update(s, cartKey, func(c *cart) error {
		c.add(in.ProductID, in.Quantity)
		return nil
	})
	if errors.Is(err, sessionstore.ErrTooLarge) {
		jsonError(w, http.StatusRequestEntityTooLarge, "the cart is full")
		return
	}
	if err != nil {
		a.log.Error("add to cart", "err", err)
		jsonError(w, http.StatusInternalServerError, "could not update the cart")
		return
	}
	writeCart(w, s)
}

type loginJSON struct {
	User string `json:"user"`
}

// isForm reports whether r is a post from the storefront's own HTML form,
// which is answered with a redirect to the storefront instead of JSON.
func isForm(r *http.Request) bool {
	return mediaType(r) == "application/x-www-form-urlencoded"
}

// readLogin reads {"user": …} as JSON or user=… from the storefront's form.
func readLogin(w http.ResponseWriter, r *http.Request) (loginJSON, bool) {
	var in loginJSON
	if !isForm(r) {
		return in, decodeBody(w, r, &in)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		refuseBody(w, err, "malformed form body")
		return in, false
	}
	in.User = r.PostForm.Get("user")
	return in, true
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	in, ok := readLogin(w, r)
	if !ok {
		return
	}
	in.User = strings.TrimSpace(in.User)
	if in.User == "" || utf8.RuneCountInString(in.User) > 64 || !utf8.ValidString(in.User) {
		jsonError(w, http.StatusBadRequest, "user must be 1 to 64 characters")
		return
	}
	s := sessionstore.FromContext(r.Context())
	if err := s.SetUserID(in.User); errors.Is(err, sessionstore.ErrInvalidValue) {
		jsonError(w, http.StatusBadRequest, "user contains a character that cannot be stored")
		return
	} else if err != nil {
		jsonError(w, http.StatusInternalServerError, "could not log in")
		return
	}
	// A new token at login defeats session fixation; the cart stays.
	if err := s.RenewToken(); err != nil {
		jsonError(w, http.StatusInternalServerError, "could not renew the session")
		return
	}
	if isForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	writeCart(w, s)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	if err := s.Destroy(); err != nil {
		jsonError(w, http.StatusInternalServerError, "could not log out")
		return
	}
	if isForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"items": cart{}, "user": nil})
}

// requireUser lets only logged-in sessions through (private objects);
// anonymous sessions get 401.
func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sessionstore.FromContext(r.Context()).UserID() == "" {
			jsonError(w, http.StatusUnauthorized, "log in to see private objects")
			return
		}
		next.ServeHTTP(w, r)
	})
}
