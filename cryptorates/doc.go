// Package cryptorates provides batched, circuit-broken, tiered-cache exchange rates.
//
// It is being built under its own issue; nothing is exported yet.
package cryptorates
