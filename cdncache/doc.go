// Package cdncache serves objects with exact cache headers, validators, conditional and range requests.
//
// It is being built under its own issue; nothing is exported yet.
package cdncache
