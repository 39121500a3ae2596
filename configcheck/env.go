package configcheck

// Env is the deployment environment a check runs for. Rules can be limited to
// one environment with [Rule.In], and some rules (prefixes, PostgreSQL TLS)
// expect different things in production and development.
type Env string

// The environments a rule set distinguishes.
const (
	// Development is lenient: test keys are expected, live keys warn, and
	// most variables fall back to the application's defaults.
	Development Env = "development"
	// Production is strict: every rule applies and live keys are demanded.
	Production Env = "production"
)

// parseEnv maps the value of a RuleSet's EnvVar to an Env. The empty string means
// Development. Any other value than "production" or "development" returns
// Production and ok=false: an unknown environment is checked strictly, never
// leniently, and the caller reports the bad value.
func parseEnv(s string) (env Env, ok bool) {
	switch s {
	case "", string(Development):
		return Development, true
	case string(Production):
		return Production, true
	default:
		return Production, false
	}
}

// Severity says whether a problem fails the check (SeverityError) or is only
// reported (SeverityWarning).
type Severity string

// The severities of a [Problem].
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)
