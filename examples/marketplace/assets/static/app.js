// Storefront behaviour: add to cart, log in, log out, keep the cart count current.
"use strict";

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  let data = null;
  try { data = await res.json(); } catch (_) { /* empty body */ }
  if (!res.ok) {
    throw new Error((data && data.error) || res.status + " " + res.statusText);
  }
  return data;
}

function showCart(cart) {
  const count = (cart.items || []).reduce((n, it) => n + it.quantity, 0);
  document.getElementById("cart-count").textContent = String(count);
  document.getElementById("user").textContent = cart.user ? "Signed in as " + cart.user : "Not signed in";
}

function status(msg) {
  document.getElementById("status").textContent = msg || "";
}

document.addEventListener("click", async (ev) => {
  const btn = ev.target.closest("[data-add]");
  if (!btn) return;
  try {
    showCart(await api("POST", "/api/cart/items", { product_id: btn.dataset.add, quantity: 1 }));
    status("");
  } catch (e) { status(e.message); }
});

// Without JavaScript the form posts to /login or /logout and the server
// redirects back here; with it, the same routes answer JSON in place.
document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    if (ev.submitter && ev.submitter.id === "logout") {
      await api("POST", "/logout");
      showCart(await api("GET", "/api/cart"));
    } else {
      showCart(await api("POST", "/login", { user: document.getElementById("login-user").value }));
    }
    status("");
  } catch (e) { status(e.message); }
});
