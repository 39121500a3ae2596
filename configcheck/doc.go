// Package configcheck loads a service's configuration from its environment
// and is the deploy gate in front of it: declarative rules over environment
// variables, checked all at once into one report that never shows a secret,
// and typed, defaulted values read from that same report.
//
// Like caarlos0/env, sethvargo/go-envconfig and kelseyhightower/envconfig,
// it turns the environment into typed values with defaults, in one step.
// Unlike them, it reports every problem of every variable in one run (they
// stop at the first, or collect parse errors but leave validation to the
// caller), each with its variable, rule, severity and a fix hint, as text or
// JSON; it never quotes a secret (errors of the env libraries may); and it
// understands NAME_FILE secrets, placeholder and weak keys, provider key
// prefixes per environment, PostgreSQL DSNs, cross-variable rules and typos.
//
// # Loading
//
// A [RuleSet] declares each [Var] once: its name, its Default, whether it is
// Secret, and its [Rule]s, whose typed rule ([IntBetween],
// [DurationBetween], [Bool], [URL], [List], [PathList]) gives its type.
// [RuleSet.Load] checks the environment in the environment EnvVar selects;
// when the [Report] has no errors, its accessors ([Report.Int],
// [Report.Duration], [Report.Bool], [Report.URL], [Report.List],
// [Report.Value], [Report.Secret]) cannot fail and return the Var's default
// when the variable is unset:
//
//	rep := rules.Load(configcheck.Source{})
//	if err := rep.Err(); err != nil { … } // rep.WriteText(os.Stderr) lists every problem
//	srv.Addr = fmt.Sprintf(":%d", rep.Int("PORT"))
//
// The accessors are the chosen shape, rather than binding into a tagged
// struct as caarlos0/env and envconfig do: a struct's tags would declare
// each name, type and default a second time, beside the rules, and could
// disagree with them; the accessors read the one declaration, so the check
// and the values the service uses cannot drift apart. Mapping the values
// onto each package's Config stays ordinary Go code.
//
// # Rules
//
// [Required], [NonEmpty], [MinLen], [Prefix] (with expectations per [Env]),
// [OneOf], [Match], the typed rules, [Path], [PostgresDSN] (parsed by pgx as
// the pool will), [Trimmed] and [Strong] for signing keys, the
// cross-variable rules [RequiredIf], [NotAbove], [Below], [Differs] and
// [Disjoint], and ready-made rules for provider keys ([StripeKey],
// [StripeKeyPair], [BrevoKey]). Rules check the value the service will use:
// the Default when the variable is unset. [Rule.In] limits a rule to one
// environment; [Rule.Warn] makes its problems warnings.
//
// # Sources
//
// Variables are read through a [Source]: the process environment by
// default, a map ([Map]), or a .env file ([ParseEnvFile]). Every
// variable NAME may instead be given as NAME_FILE, the path of a file holding
// the value (Docker and Kubernetes secrets); setting both is an error, and
// the rules then check NAME's value, so that its problems show in the same
// report (the file is not read).
// Set variables that are not declared but look like typos of declared ones
// (in any case: app_env for APP_ENV), or use the application's prefixes,
// are reported as warnings.
//
// # Secrets
//
// A Var marked Secret is never shown: not in [Report] text or JSON, not in
// [Problem] messages, errors, panics, fmt verbs or slog output, only its
// length and the documented prefix it starts with ("secret, 107 characters,
// starts with sk_live_"). pgx's parse errors, which can quote a connection
// string with its password, are mapped to fixed texts; env file errors name
// line numbers only. As a safety net, a report text that would contain a
// piece of a secret value longer than its documented prefix is withheld.
// [Report.Secret] wraps a value in a [Secret] that prints only its
// description.
//
// # Errors
//
// [Report.Err] and [ParseEnvFile] return errors that say "configcheck: "
// once, at their start; a reader's error stays reachable through errors.Is.
// The [Report]'s JSON form (snake_case names, severities as words, no
// secret) is for a handler or a CI job to use as it is. check-config prints
// its errors under its own name, "check-config: ", without the package's.
// The package exports no sentinel.
//
// # The check-config command
//
// [RuleSet.Command] is a ready check-config subcommand: the same check as
// Load, exiting 0 when there are no errors, 1 when there are, and 2 on bad
// usage; --list prints every variable with its type, default and secrecy
// ([RuleSet.WriteList]). A service that starts only on a clean Load and
// ships this command cannot disagree with it. examples/marketplace shows a
// complete rule set, its mapping and the command.
package configcheck
