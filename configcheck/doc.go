// Package configcheck is a deploy-time configuration gate that reports every problem at once.
//
// It is being built under its own issue; nothing is exported yet.
package configcheck
