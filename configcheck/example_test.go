package configcheck_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dedw3n/hardening/configcheck"
)

// serviceRules is a small service's rule set: each variable with its type
// (from its typed rule), its default, and its checks.
func serviceRules() *configcheck.RuleSet {
	return &configcheck.RuleSet{
		EnvVar:   "APP_ENV",
		Prefixes: []string{"STRIPE_"},
		Vars: []configcheck.Var{
			{Name: "APP_ENV", Default: "development", Rules: []configcheck.Rule{configcheck.OneOf("development", "production")}},
			{Name: "PORT", Default: "8080", Rules: []configcheck.Rule{configcheck.IntBetween(0, 65535)}},
			{Name: "SESSION_TTL", Default: "168h", Rules: []configcheck.Rule{configcheck.DurationBetween(time.Minute, 90*24*time.Hour)}},
			{Name: "ALLOWED_ORIGINS", Default: "https://shop.example", Rules: []configcheck.Rule{configcheck.List()}},
			{Name: "SESSION_SECRET", Secret: true, Rules: []configcheck.Rule{
				configcheck.Required().In(configcheck.Production), configcheck.MinLen(32), configcheck.Strong(),
			}},
			{Name: "STRIPE_SECRET_KEY", Secret: true, Rules: []configcheck.Rule{
				configcheck.RequiredIf("CHECKOUT", "stripe"), configcheck.StripeKey("sk"),
			}},
			{Name: "CHECKOUT", Default: "none", Rules: []configcheck.Rule{configcheck.OneOf("none", "stripe")}},
		},
	}
}

// WriteList documents every variable from the rule set itself, as
// `check-config --list` does.
func ExampleRuleSet_WriteList() {
	_ = serviceRules().WriteList(os.Stdout)
	// Output:
	// VARIABLE           TYPE      DEFAULT               SECRET  RULES
	// APP_ENV            string    development           -       one-of development, production
	// PORT               int       8080                  -       int 0..65535
	// SESSION_TTL        duration  168h                  -       duration 1m0s..2160h0m0s
	// ALLOWED_ORIGINS    list      https://shop.example  -       list
	// SESSION_SECRET     string    -                     yes     required (production); min-length 32; strength
	// STRIPE_SECRET_KEY  string    -                     yes     required if CHECKOUT is stripe; prefix production sk_live_; development sk_test_, warn sk_live_
	// CHECKOUT           string    none                  -       one-of none, stripe
}

// Load checks the environment once; after a clean report the typed
// accessors cannot fail and return each variable's default when it is unset.
func ExampleRuleSet_Load() {
	src := configcheck.Map(map[string]string{"PORT": "9090", "ALLOWED_ORIGINS": "https://a.example, https://b.example"})
	rep := serviceRules().Load(src)
	if err := rep.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Env, rep.Int("PORT"), rep.Duration("SESSION_TTL"), rep.List("ALLOWED_ORIGINS"), rep.Value("CHECKOUT"))
	// Output:
	// development 9090 168h0m0s [https://a.example https://b.example] none
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
	//       "hint": "set sslmode=verify-full (or require) in the connection string"
	//     }
	//   ]
	// }
}

// A Secret prints, marshals and logs as its description only.
func ExampleSecret() {
	rep := serviceRules().Check(configcheck.Development, configcheck.Map(map[string]string{
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

// Command is the whole check-config subcommand; a service's main calls
// it as os.Exit(rules.Command(os.Args[2:], configcheck.Source{}, os.Stdout, os.Stderr)).
func ExampleRuleSet_Command() {
	src := configcheck.Map(map[string]string{"APP_ENV": "production", "PORT": "80800", "CHECKOUT": "stripe"})
	code := serviceRules().Command([]string{"--format", "text"}, src, os.Stdout, os.Stderr)
	fmt.Println("exit", code)
	// Output:
	// configcheck: production: FAILED (3 errors, 0 warnings)
	// error   PORT [int]: is above 65535 (got "80800")
	//         fix: use a value of at most 65535
	// error   SESSION_SECRET [required]: is not set (required in production)
	//         fix: set SESSION_SECRET, or SESSION_SECRET_FILE to a file holding the value
	// error   STRIPE_SECRET_KEY [required]: is not set (required when CHECKOUT is stripe)
	//         fix: set STRIPE_SECRET_KEY, or STRIPE_SECRET_KEY_FILE to a file holding the value, or change CHECKOUT
	// exit 1
}
