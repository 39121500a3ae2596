package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// crossSite is what a browser adds to a request a page of evil.example makes.
var crossSite = map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}

func post(h http.Handler, path, contentType, body string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "http://shop.example"+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestLoginCSRFIsRefused is the regression test for login CSRF: a cross-site
// form post with a text/plain body of JSON logged the victim in as the
// attacker. Every state-changing route refuses cross-site posts of every
// content type, before any session cookie is set.
func TestLoginCSRFIsRefused(t *testing.T) {
	h := testApp(t)
	bodies := map[string]string{
		"/login":          `{"user":"attacker"}`,
		"/logout":         ``,
		"/api/cart/items": `{"product_id":"mug","quantity":1}`,
	}
	for path, body := range bodies {
		for _, ct := range []string{"text/plain", "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			for name, headers := range map[string]map[string]string{
				"Origin and Sec-Fetch-Site": crossSite,
				"Sec-Fetch-Site only":       {"Sec-Fetch-Site": "cross-site"},
				"Origin only":               {"Origin": "https://evil.example"},
			} {
				rec := post(h, path, ct, body, headers)
				if rec.Code != http.StatusForbidden {
					t.Errorf("cross-site POST %s (%s, %s): status %d, want 403", path, ct, name, rec.Code)
				}
				if c := rec.Header().Values("Set-Cookie"); len(c) > 0 {
					t.Errorf("cross-site POST %s (%s, %s) set a cookie", path, ct, name)
				}
			}
		}
	}
}

// TestSameOriginAndNonBrowserClients: the storefront's own requests (same
// origin) and clients that send neither Origin nor Sec-Fetch-Site (curl,
// services) are served; JSON routes still answer 415 to other content types.
func TestSameOriginAndNonBrowserClients(t *testing.T) {
	h := testApp(t)
	sameOrigin := map[string]string{"Origin": "http://shop.example", "Sec-Fetch-Site": "same-origin"}
	for name, headers := range map[string]map[string]string{"same origin": sameOrigin, "no browser headers": nil} {
		if rec := post(h, "/login", "application/json", `{"user":"ada"}`, headers); rec.Code != http.StatusOK || len(rec.Header().Values("Set-Cookie")) == 0 {
			t.Errorf("%s: JSON login: status %d, cookies %q; want 200 with a session cookie", name, rec.Code, rec.Header().Values("Set-Cookie"))
		}
		if rec := post(h, "/api/cart/items", "application/json", `{"product_id":"mug","quantity":1}`, headers); rec.Code != http.StatusOK {
			t.Errorf("%s: add to cart: status %d, want 200: %s", name, rec.Code, rec.Body)
		}
		for _, ct := range []string{"text/plain", "", "application/x-www-form-urlencoded", "application/jsonx"} {
			if rec := post(h, "/api/cart/items", ct, `{"product_id":"mug","quantity":1}`, headers); rec.Code != http.StatusUnsupportedMediaType {
				t.Errorf("%s: add to cart as %q: status %d, want 415", name, ct, rec.Code)
			}
		}
		if rec := post(h, "/login", "text/plain", `{"user":"ada"}`, headers); rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("%s: text/plain login: status %d, want 415", name, rec.Code)
		}
	}
}

// TestStorefrontFormsWorkWithoutJavaScript: the login and logout forms post
// urlencoded bodies from the same origin and are redirected back to "/".
func TestStorefrontFormsWorkWithoutJavaScript(t *testing.T) {
	h := testApp(t)
	sameOrigin := map[string]string{"Origin": "http://shop.example", "Sec-Fetch-Site": "same-origin"}
	form := "application/x-www-form-urlencoded"
	rec := post(h, "/login", form, url.Values{"user": {"ada"}}.Encode(), sameOrigin)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("form login: status %d, Location %q; want 303 to /", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("form login set no session cookie")
	}
	withCookie := func(req *http.Request) {
		for _, c := range cookies {
			req.AddCookie(c)
		}
	}
	req := httptest.NewRequest("GET", "http://shop.example/api/cart", nil)
	withCookie(req)
	got := httptest.NewRecorder()
	h.ServeHTTP(got, req)
	if !strings.Contains(got.Body.String(), `"user":"ada"`) {
		t.Fatalf("after the form login the cart says %s, want user ada", got.Body)
	}
	if rec := post(h, "/login", form, "user=", sameOrigin); rec.Code != http.StatusBadRequest {
		t.Errorf("form login with an empty user: status %d, want 400", rec.Code)
	}
	if rec := post(h, "/login", form, "user="+strings.Repeat("a", 1<<20), sameOrigin); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("form login over 1 MiB: status %d, want 413 as for JSON", rec.Code)
	}
	if rec := post(h, "/login", form, "user=%zz", sameOrigin); rec.Code != http.StatusBadRequest {
		t.Errorf("malformed form login: status %d, want 400", rec.Code)
	}
	req = httptest.NewRequest("POST", "http://shop.example/logout", strings.NewReader(""))
	req.Header.Set("Content-Type", form)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	withCookie(req)
	out := httptest.NewRecorder()
	h.ServeHTTP(out, req)
	if out.Code != http.StatusSeeOther {
		t.Errorf("form logout: status %d, want 303", out.Code)
	}
}
