package configcheck

import (
	"math"
	"slices"
	"strings"
	"unicode"
)

// placeholders are fragments of the values people paste from examples and
// tutorials. A secret whose letters and digits contain one is rejected.
var placeholders = []string{
	"changeme", "replaceme", "placeholder", "keyboardcat", "yoursecret", "yourkey",
	"mysecret", "supersecret", "sessionsecret", "secretkey", "notsecret", "notasecret",
	"insecure", "example", "password", "default", "dontuse", "donotuse", "xxxxxx",
	"secretsecret", "1234567890", "qwerty", "loremipsum",
}

// minEntropyBits is the least estimated entropy a strong secret must carry:
// below the 128 bits of a random 16-byte key's hex form (about 115 bits by
// this estimate) with margin, far above what typed phrases of 32 characters
// with few distinct characters reach.
const minEntropyBits = 96

// Strong fails on values that look like placeholders ("changeme", "secret",
// "keyboard cat"), repeat a short pattern ("aaaa…", "abcabc…"), run in
// sequence ("abcdef…", "123456…") or carry too little entropy: fewer than
// 96 bits by the value's own character frequencies (Shannon), or fewer than
// 8 distinct characters. It never shows which characters were at fault.
func Strong() Rule {
	return Rule{kind: "strength", check: func(_ *checkCtx, v *varState) []finding {
		hint := "use a random value, not a word, phrase or pattern"
		s := strings.TrimSpace(v.value)
		norm := normalize(s)
		switch {
		case norm == "secret" || norm == "test" || norm == "dev":
			return one(got(v, "is a placeholder"), hint)
		case slices.ContainsFunc(placeholders, func(p string) bool { return strings.Contains(norm, p) }):
			return one(got(v, "contains a placeholder word or pattern"), hint)
		case repeats(s):
			return one(got(v, "repeats a short pattern"), hint)
		case sequential(s):
			return one(got(v, "is a run of consecutive characters"), hint)
		}
		if bits, distinct := entropy(s); distinct < 8 || bits < minEntropyBits {
			return one(got(v, "has too little entropy for a signing key"), hint)
		}
		return nil
	}}
}

// normalize lowercases s and keeps only letters and digits.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxPeriod bounds the pattern length repeats looks for, keeping it linear.
const maxPeriod = 64

// repeats reports whether s is a pattern of at most a third of its length
// (and at most maxPeriod characters) repeated, with a possibly partial last
// copy.
func repeats(s string) bool {
	r := []rune(s)
	n := len(r)
	if n < 2 {
		return n == 1
	}
	for p := 1; p <= min(n/3, maxPeriod); p++ {
		ok := true
		for i := p; i < n; i++ {
			if r[i] != r[i-p] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// sequential reports whether most steps between neighbouring characters
// are +1 or -1, as in "abcdefgh" or "98765432".
func sequential(s string) bool {
	r := []rune(s)
	if len(r) < 4 {
		return false
	}
	steps := 0
	for i := 1; i < len(r); i++ {
		if d := r[i] - r[i-1]; d == 1 || d == -1 {
			steps++
		}
	}
	return steps*4 >= (len(r)-1)*3
}

// entropy estimates the bits in s from its own character frequencies, and
// counts its distinct characters.
func entropy(s string) (bits float64, distinct int) {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	for _, c := range counts {
		p := float64(c) / float64(n)
		bits -= p * math.Log2(p)
	}
	return bits * float64(n), len(counts)
}
