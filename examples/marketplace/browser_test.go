package main

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// findBrowser returns Debian's Chromium (or another Chrome) if installed.
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// staticFetch is what the browser saw of one /static/ response.
type staticFetch struct {
	url       string
	status    int64
	fromCache bool
}

func TestBrowserStorefront(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		pgtest.Unavailable(t, "no Chromium found (apt-get install chromium; .ci/run does)")
	}
	a := startApp(t, "COINGECKO_BASE_URL="+closedURL(t))

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var reloaded bool
	var afterReload []staticFetch
	fromCache := map[network.RequestID]bool{}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestServedFromCache:
			fromCache[e.RequestID] = true
		case *network.EventResponseReceived:
			if reloaded && strings.Contains(e.Response.URL, "/static/") {
				afterReload = append(afterReload, staticFetch{
					url:       e.Response.URL,
					status:    e.Response.Status,
					fromCache: e.Response.FromDiskCache || e.Response.FromPrefetchCache || fromCache[e.RequestID],
				})
			}
		}
	}))

	cartIs := func(n string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](`document.getElementById("cart-count").textContent === "`+n+`"`,
			chromedp.WithPollingTimeout(10*time.Second))
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/"),
		chromedp.WaitVisible(chromedp.ID("product-mug")),
		chromedp.Click(chromedp.CSS(`#product-mug button[data-add]`)),
		cartIs("1"),
	))

	mu.Lock()
	reloaded = true
	mu.Unlock()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("product-mug")),
	))
	count, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("cart-count")))
	require.NoError(t, err)
	require.Equal(t, "1", count, "the cart survives a reload")
	lines, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("cart-lines")))
	require.NoError(t, err)
	require.Equal(t, "1 × Stoneware mug: $18.50", lines, "the server renders the cart's lines")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#product-lamp button[data-add]`)),
		cartIs("2"),
		chromedp.Poll[chromedp.Void](`document.getElementById("cart-lines").textContent.includes("1 × Brass desk lamp: $89.00")`,
			chromedp.WithPollingTimeout(10*time.Second)),
	))
	images, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll(".product img")].filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute("src"))`))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"/static/lamp.svg", "/static/mug.svg", "/static/chair.svg", "/static/rug.svg"}, images,
		"each product shows its own image, loaded")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("login-user"), "ada"),
		chromedp.Click(chromedp.CSS(`#login-form button:not(#logout)`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("user").textContent.includes("ada")`,
			chromedp.WithPollingTimeout(10*time.Second)),
		cartIs("2"),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("product-mug")),
		cartIs("2"),
	))
	user, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("user")))
	require.NoError(t, err)
	require.Contains(t, user, "ada", "the login survives a reload")

	// Log out through the same form: same-origin posts pass the server's
	// cross-origin protection.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.Poll[chromedp.Void](`document.getElementById("user").textContent.includes("Not signed in")`,
			chromedp.WithPollingTimeout(10*time.Second)),
	))

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, afterReload, "the reloads load the /static/ assets")
	for _, f := range afterReload {
		t.Logf("after reload: %s status %d from cache %v", f.url, f.status, f.fromCache)
		require.True(t, f.status == 304 || f.fromCache,
			"after a reload %s must be revalidated (304) or reused from cache, got status %d", f.url, f.status)
	}
}
