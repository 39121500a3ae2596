package sessionstore

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"
)

const (
	tokenLen = 32 // 256 bits from crypto/rand
	macLen   = sha256.Size
)

// cookieLen is the length of every valid cookie value: base64url, without
// padding, of the token followed by its HMAC.
var cookieLen = base64.RawURLEncoding.EncodedLen(tokenLen + macLen)

// newToken returns a fresh random token.
func newToken() [tokenLen]byte {
	var t [tokenLen]byte
	rand.Read(t[:]) // never fails (crypto/rand crashes the program instead)
	return t
}

// codec signs and verifies cookie values: HMAC-SHA256 of the token under
// each secret, the first used to sign, all accepted, bound to the cookie
// name so that a value cannot be moved between cookies.
type codec struct {
	label []byte      // domain separation: "sessionstore/v1\x00" + cookie name + "\x00"
	pools []sync.Pool // one per secret, of keyed HMAC states
}

func newCodec(name string, secrets [][]byte) *codec {
	c := &codec{
		label: []byte("sessionstore/v1\x00" + name + "\x00"),
		pools: make([]sync.Pool, len(secrets)),
	}
	for i, key := range secrets { // copied by Config's check
		c.pools[i].New = func() any { return hmac.New(sha256.New, key) }
	}
	return c
}

func (c *codec) mac(i int, token []byte, out []byte) []byte {
	h := c.pools[i].Get().(hash.Hash)
	h.Reset()
	h.Write(c.label)
	h.Write(token)
	out = h.Sum(out)
	c.pools[i].Put(h)
	return out
}

// encode returns the cookie value carrying token.
func (c *codec) encode(token []byte) string {
	var buf [tokenLen + macLen]byte
	copy(buf[:], token)
	c.mac(0, token, buf[tokenLen:tokenLen])
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// decode returns the token a cookie value carries, and false for anything
// not signed by one of the secrets: wrong length, bad encoding, bad MAC.
// The MACs are compared in constant time.
func (c *codec) decode(value string) (token [tokenLen]byte, ok bool) {
	if len(value) != cookieLen {
		return token, false
	}
	var buf [tokenLen + macLen]byte
	n, err := base64.RawURLEncoding.Strict().Decode(buf[:], []byte(value))
	if err != nil || n != len(buf) {
		return token, false
	}
	var want [macLen]byte
	for i := range c.pools {
		if hmac.Equal(c.mac(i, buf[:tokenLen], want[:0]), buf[tokenLen:]) {
			copy(token[:], buf[:tokenLen])
			return token, true
		}
	}
	return token, false
}
