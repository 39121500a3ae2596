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

// cartLine renders one cart item as the server does: "2 × Stoneware mug: $37.00".
function cartLine(it) {
  const product = document.getElementById("product-" + it.product_id);
  const li = document.createElement("li");
  li.dataset.product = it.product_id;
  if (!product) { li.textContent = it.quantity + " × " + it.product_id; return li; }
  const usd = Number(product.dataset.priceUsd) * it.quantity;
  li.textContent = it.quantity + " × " + product.querySelector("h2").textContent + ": $" + usd.toFixed(2);
  return li;
}

function showCart(cart) {
  const items = cart.items || [];
  const count = items.reduce((n, it) => n + it.quantity, 0);
  document.getElementById("cart-count").textContent = String(count);
  document.getElementById("user").textContent = cart.user ? "Signed in as " + cart.user : "Not signed in";
  const list = document.getElementById("cart-lines");
  if (!list) return;
  list.replaceChildren(...items.map(cartLine));
  if (items.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "Your cart is empty.";
    list.append(li);
  }
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
