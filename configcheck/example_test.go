package configcheck_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/dedw3n/hardening/configcheck"
)

// A rule set declares variables and their rules; WriteRules lists them.
func ExampleRuleSet_WriteRules() {
	rs := &configcheck.RuleSet{
		Prefixes: []string{"STRIPE_"},
		Vars: []configcheck.Var{
			{Name: "PORT", Default: "8080", Rules: []configcheck.Rule{configcheck.IntBetween(1, 65535)}},
			{Name: "SESSION_SECRET", Secret: true, Rules: []configcheck.Rule{
				configcheck.Required().In(configcheck.Production), configcheck.MinLen(32), configcheck.Strong(),
			}},
			{Name: "STRIPE_SECRET_KEY", Secret: true, Rules: []configcheck.Rule{
				configcheck.Required().In(configcheck.Production),
				configcheck.Prefix(
					configcheck.Prefixes{Accept: []string{"sk_live_"}},
					configcheck.Prefixes{Accept: []string{"sk_test_"}, Warn: []string{"sk_live_"}}),
			}},
		},
	}
	_ = rs.WriteRules(os.Stdout)
	// Output:
	// PORT               int 1..65535; default 8080
	// SESSION_SECRET     secret; required (production); min-length 32; strength
	// STRIPE_SECRET_KEY  secret; required (production); prefix production sk_live_; development sk_test_, warn sk_live_
}

// Check reports every problem at once; secrets show only their length and
// documented prefix.
func ExampleRuleSet_Check() {
	rs := &configcheck.RuleSet{
		Prefixes: []string{"STRIPE_"},
		Vars: []configcheck.Var{
			{Name: "PORT", Rules: []configcheck.Rule{configcheck.IntBetween(1, 65535)}},
			{Name: "SESSION_SECRET", Secret: true, Hint: "generate one with: openssl rand -base64 48",
				Rules: []configcheck.Rule{configcheck.Required().In(configcheck.Production), configcheck.MinLen(32)}},
			{Name: "STRIPE_SECRET_KEY", Secret: true, Rules: []configcheck.Rule{
				configcheck.Prefix(configcheck.Prefixes{Accept: []string{"sk_live_"}}, configcheck.Prefixes{Accept: []string{"sk_test_"}}),
			}},
		},
	}
	rep := rs.Check(configcheck.Production, configcheck.Map(map[string]string{
		"PORT":               "http",
		"SESSION_SECRET":     "hunter2",
		"STRIPE_SECRET_KEY":  "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
		"STRIPE_PUBLISH_KEY": "pk_test_TYooMQauvdEDq54NiTphI7jx",
	}))
	_ = rep.WriteText(os.Stdout)
	fmt.Println(rep.Err())
	// Output:
	// configcheck: production: FAILED (3 errors, 1 warning)
	// error   PORT [int]: is not an integer (got "http")
	//         fix: write a whole number such as 10
	// error   SESSION_SECRET [min-length]: is shorter than 32 characters (got secret, 7 characters)
	//         fix: use a value of at least 32 characters; generate one with: openssl rand -base64 48
	// error   STRIPE_SECRET_KEY [prefix]: does not start with sk_live_ (got secret, 32 characters, starts with sk_test_)
	//         fix: in production use a value starting with sk_live_
	// warning STRIPE_PUBLISH_KEY [unknown]: is not a known variable, but uses the application's prefix STRIPE_
	//         fix: check the spelling against the documented variables, or remove it
	// configcheck: production: 3 errors in PORT, SESSION_SECRET, STRIPE_SECRET_KEY
}

// The same report as JSON, for CI.
func ExampleReport_WriteJSON() {
	rs := &configcheck.RuleSet{Vars: []configcheck.Var{
		{Name: "DATABASE_URL", Secret: true, Rules: []configcheck.Rule{configcheck.Required().In(configcheck.Production), configcheck.PostgresDSN()}},
	}}
	rep := rs.Check(configcheck.Production, configcheck.Map(map[string]string{
		"DATABASE_URL": "postgres://app:hunter2@db.internal:5432/app?sslmode=disable",
	}))
	_ = rep.WriteJSON(os.Stdout)
	// Output:
	// {
	//   "env": "production",
	//   "ok": false,
	//   "errors": 1,
	//   "warnings": 0,
	//   "problems": [
	//     {
	//       "variable": "DATABASE_URL",
	//       "rule": "postgres-dsn",
	//       "severity": "error",
	//       "message": "uses no TLS (sslmode=disable or allow) in production",
	//       "hint": "set sslmode=verify-full (or require) in DATABASE_URL"
	//     }
	//   ]
	// }
}

// A Secret prints, marshals and logs as its description only.
func ExampleSecret() {
	rep := configcheck.Marketplace().Check(configcheck.Development, configcheck.Map(map[string]string{
		"STRIPE_SECRET_KEY": "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
	}))
	key := rep.Secret("STRIPE_SECRET_KEY")
	fmt.Println(key)
	fmt.Printf("%#v\n", key)
	fmt.Println(len(key.Reveal()))
	// Output:
	// [secret, 32 characters, starts with sk_test_]
	// [secret, 32 characters, starts with sk_test_]
	// 32
}

// ParseEnvFile reads a .env file for Map.
func ExampleParseEnvFile() {
	m, err := configcheck.ParseEnvFile(strings.NewReader(`
# production settings
export APP_ENV=production
PORT = 8080   # the listen port
SESSION_SECRET_FILE="/run/secrets/session"
`))
	fmt.Println(m, err)
	// Output:
	// map[APP_ENV:production PORT:8080 SESSION_SECRET_FILE:/run/secrets/session] <nil>
}

// Command is the whole check-config subcommand; the marketplace's main calls
// it as os.Exit(configcheck.Marketplace().Command(os.Args[2:], configcheck.Source{}, os.Stdout, os.Stderr)).
func ExampleRuleSet_Command() {
	src := configcheck.Map(map[string]string{"APP_ENV": "production", "PORT": "8080"})
	code := configcheck.Marketplace().Command([]string{"--format", "text"}, src, os.Stdout, os.Stderr)
	fmt.Println("exit", code)
	// Output:
	// configcheck: production: FAILED (7 errors, 0 warnings)
	// error   DATABASE_URL [required]: is not set (required in production)
	//         fix: set DATABASE_URL, or DATABASE_URL_FILE to a file holding the value; a PostgreSQL URL such as postgres://app:PASSWORD@db.internal:5432/app?sslmode=verify-full; unset in development means in-memory sessions
	// error   SESSION_SECRET [required]: is not set (required in production)
	//         fix: set SESSION_SECRET, or SESSION_SECRET_FILE to a file holding the value; generate one with: openssl rand -base64 48
	// error   PUBLIC_OBJECT_SEARCH_PATHS [required]: is not set (required in production)
	//         fix: set PUBLIC_OBJECT_SEARCH_PATHS, or PUBLIC_OBJECT_SEARCH_PATHS_FILE to a file holding the value; comma-separated absolute directories served under /objects/public/
	// error   PRIVATE_OBJECT_DIR [required]: is not set (required in production)
	//         fix: set PRIVATE_OBJECT_DIR, or PRIVATE_OBJECT_DIR_FILE to a file holding the value; an absolute directory served under /objects/private/ to logged-in sessions
	// error   STRIPE_SECRET_KEY [required]: is not set (required in production)
	//         fix: set STRIPE_SECRET_KEY, or STRIPE_SECRET_KEY_FILE to a file holding the value; from the Stripe dashboard, Developers → API keys
	// error   STRIPE_PUBLISHABLE_KEY [required]: is not set (required in production)
	//         fix: set STRIPE_PUBLISHABLE_KEY, or STRIPE_PUBLISHABLE_KEY_FILE to a file holding the value; from the Stripe dashboard, Developers → API keys
	// error   BREVO_API_KEY [required]: is not set (required in production)
	//         fix: set BREVO_API_KEY, or BREVO_API_KEY_FILE to a file holding the value; from Brevo, SMTP & API → API keys
	// exit 1
}
