// Package configcheck is a deploy-time configuration gate: declarative rules
// over environment variables, checked all at once into one report that never
// shows a secret.
//
// Unlike kelseyhightower/envconfig and sethvargo/go-envconfig, which stop at
// the first error and may quote values in it, or caarlos0/env, which collects
// errors but leaves validation to the caller, configcheck reports every
// problem of every variable in one run, each with its variable, rule,
// severity and a fix hint, as text or JSON, and renders secret values only as
// their length and documented prefix ("secret, 107 characters, starts with
// sk_live_").
//
// # Rules
//
// A [RuleSet] lists [Var]s, each with [Rule]s: [Required], [NonEmpty],
// [MinLen], [Prefix] (with expectations per [Env]), [OneOf], [Int],
// [IntBetween], [Duration], [DurationBetween], [Bool], [URL], [List],
// [PathList], [Path], [PostgresDSN] (parsed by pgx as the pool will),
// [Trimmed] and [Strong] for signing keys, and the cross-variable rules
// [SameMode], [Disjoint], [NotAbove] and [Differs]. [Rule.In] limits a rule to
// one environment; [Rule.Warn] makes its problems warnings.
//
// # Sources
//
// Variables are read through a [Source]: the process environment by
// default, a map ([Map], [Environ]), or a .env file ([ParseEnvFile]). Every
// variable NAME may instead be given as NAME_FILE, the path of a file holding
// the value (Docker and Kubernetes secrets); setting both is an error.
// Set variables that are not declared but look like typos of declared ones,
// or use the application's prefixes, are reported as warnings.
//
// # Secrets
//
// A Var marked Secret is never shown: not in [Report] text or JSON, not in
// [Problem] messages, errors, fmt verbs or slog output. pgx's own parse
// errors, which can quote a connection string with its password, are mapped
// to fixed texts. As a safety net, a report text that would contain a piece
// of a secret value longer than its documented prefix is withheld. The
// resolved values are available from [Report.Value] and, wrapped in a
// [Secret] that prints only its description, [Report.Secret].
//
// # The marketplace
//
// [Marketplace] is the rule set of the example server, and
// [RuleSet.Command] its check-config subcommand, exiting 0 when the
// configuration has no errors, 1 when it has, and 2 on bad usage.
package configcheck
