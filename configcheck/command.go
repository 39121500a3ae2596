package configcheck

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit codes of [RuleSet.Command].
const (
	ExitOK       = 0 // no errors (warnings may be printed)
	ExitProblems = 1 // the check found errors
	ExitUsage    = 2 // bad flags, or an --env-file that cannot be read
)

// Command implements a check-config command line over rs:
//
//	check-config [--env-file F] [--format text|json] [--env production|development] [--rules]
//
// It checks src (the zero Source is the process environment), or only the
// variables of the .env-style file F (see ParseEnvFile; NAME_FILE paths are
// still read through src.ReadFile). The environment defaults to APP_ENV of
// what is checked; an APP_ENV other than production or development is
// checked as production. The report goes to stdout; usage errors to stderr.
// --rules lists the rules instead of checking. It returns ExitOK when there
// are no errors, ExitProblems when there are, and ExitUsage on bad usage, so
// a main function can do:
//
//	os.Exit(configcheck.Marketplace().Command(os.Args[2:], configcheck.Source{}, os.Stdout, os.Stderr))
func (rs *RuleSet) Command(args []string, src Source, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envFile := fs.String("env-file", "", "check the variables of this .env file instead of the environment")
	format := fs.String("format", "text", "report format: text or json")
	envFlag := fs.String("env", "", "production or development (default: APP_ENV, else development)")
	rules := fs.Bool("rules", false, "list the variables and their rules, then exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: check-config [--env-file F] [--format text|json] [--env production|development] [--rules]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "check-config: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "check-config: --format must be text or json, not %q\n", *format)
		return ExitUsage
	}
	if *rules {
		if err := rs.WriteRules(stdout); err != nil {
			fmt.Fprintf(stderr, "check-config: %v\n", err)
			return ExitUsage
		}
		return ExitOK
	}

	if *envFile != "" {
		m, err := readEnvFile(*envFile)
		if err != nil {
			fmt.Fprintf(stderr, "check-config: %v\n", err)
			return ExitUsage
		}
		fileSrc := Map(m)
		fileSrc.ReadFile = src.ReadFile
		src = fileSrc
	}

	env := Development
	switch *envFlag {
	case "":
		env, _ = ParseEnv(src.resolve("APP_ENV").value) // a bad APP_ENV is checked strictly and reported by its rule
	case string(Production), string(Development):
		env = Env(*envFlag)
	default:
		fmt.Fprintf(stderr, "check-config: --env must be production or development, not %q\n", *envFlag)
		return ExitUsage
	}

	rep := rs.Check(env, src)
	var err error
	if *format == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "check-config: writing the report: %v\n", err)
		return ExitProblems
	}
	if !rep.OK {
		return ExitProblems
	}
	return ExitOK
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	return ParseEnvFile(f)
}
