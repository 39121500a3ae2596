package main

import (
	"testing"

	"github.com/dedw3n/hardening/configcheck"
)

// TestRulesStartWithNoSetUp: with nothing set, the defaults pass the check
// (go run works with no set-up); production without a session secret fails.
func TestRulesStartWithNoSetUp(t *testing.T) {
	if err := rules.Load(configcheck.Map(map[string]string{})).Err(); err != nil {
		t.Fatalf("the defaults fail the check: %v", err)
	}
	if err := rules.Load(configcheck.Map(map[string]string{"APP_ENV": "production"})).Err(); err == nil {
		t.Fatal("production without SESSION_SECRET passed the check")
	}
	secret := "Zq8v3LmT0pW7xR2nY5bK9cF1hJ4sD6gA"
	if err := rules.Load(configcheck.Map(map[string]string{"APP_ENV": "production", "SESSION_SECRET": secret})).Err(); err != nil {
		t.Fatalf("production with a strong secret fails the check: %v", err)
	}
}
