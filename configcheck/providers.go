package configcheck

// Ready-made rules for the keys of common providers. They name prefixes
// only, never variables: the application declares its own names.

// StripeKey checks a Stripe API key of kind "sk" (secret), "pk"
// (publishable) or "rk" (restricted): production demands a live key
// (sk_live_); development expects a test key (sk_test_) and warns on a live
// one.
func StripeKey(kind string) Rule {
	return Prefix(Prefixes{Accept: []string{kind + "_live_"}},
		Prefixes{Accept: []string{kind + "_test_"}, Warn: []string{kind + "_live_"}})
}

// StripeKeyPair goes on a Stripe secret key: it fails when the secret key
// and the publishable key in the variable publishable come from different
// modes (a test secret key with a live publishable key).
func StripeKeyPair(publishable string) Rule {
	return sameMode(publishable,
		mode{name: "live", prefix: "sk_live_", otherPrefix: "pk_live_"},
		mode{name: "test", prefix: "sk_test_", otherPrefix: "pk_test_"})
}

// BrevoKey warns when the value does not start with xkeysib-, the prefix of
// Brevo's v3 API keys.
func BrevoKey() Rule {
	return Prefix(Prefixes{Accept: []string{"xkeysib-"}}, Prefixes{Accept: []string{"xkeysib-"}}).Warn()
}
