package redact

import "strings"

// Pieces finds a secret, or a piece of one, in a text: for a check whose
// messages quote values and must never quote part of a secret.
type Pieces struct {
	secret string
	n      int
	set    map[string]struct{} // every n-byte piece of secret
}

// NewPieces indexes every n-byte piece of secret (n < 1 counts as 1). The
// secret, which may be long, is scanned once.
func NewPieces(secret string, n int) Pieces {
	n = max(n, 1)
	p := Pieces{secret: secret, n: n, set: map[string]struct{}{}}
	for j := 0; j+n <= len(secret); j++ {
		p.set[secret[j:j+n]] = struct{}{}
	}
	return p
}

// In reports whether text contains the secret whole (when it is at least 8
// bytes long) or any n bytes of it.
func (p Pieces) In(text string) bool {
	if len(p.secret) >= 8 && strings.Contains(text, p.secret) {
		return true
	}
	for j := 0; j+p.n <= len(text); j++ {
		if _, ok := p.set[text[j:j+p.n]]; ok {
			return true
		}
	}
	return false
}
