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

const usage = "usage: check-config [--env-file F] [--format text|json] [--env production|development] [--list]"

// Command implements a check-config command line over rs:
//
//	check-config [--env-file F] [--format text|json] [--env production|development] [--list]
//
// It checks src (the zero Source is the process environment), or only the
// variables of the .env-style file F (see ParseEnvFile; NAME_FILE paths are
// still read through src.ReadFile), in the environment that EnvVar selects
// unless --env says otherwise: the same check as [RuleSet.Load], so a
// service that starts only on a clean Load agrees with its check-config.
// The report goes to stdout; usage errors to stderr, which never repeat an
// argument. --list (and --help, after the usage) documents the variables
// ([RuleSet.WriteList]). It returns ExitOK when there are no errors,
// ExitProblems when there are, and ExitUsage on bad usage, so a main
// function can do:
//
//	os.Exit(rules.Command(os.Args[2:], configcheck.Source{}, os.Stdout, os.Stderr))
func (rs *RuleSet) Command(args []string, src Source, stdout, stderr io.Writer) int {
	o, code, ok := rs.parseFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	if o.list {
		return rs.writeList(stdout, stderr)
	}
	env := rs.env(src)
	if o.envFile != "" {
		m, err := readEnvFile(o.envFile)
		if err != nil {
			fmt.Fprintf(stderr, "check-config: %v\n", err)
			return ExitUsage
		}
		fileSrc := Map(m)
		fileSrc.ReadFile = src.ReadFile
		src, env = fileSrc, rs.env(fileSrc)
	}
	if o.env != "" {
		env = Env(o.env)
	}
	rep := rs.Check(env, src)
	write := rep.WriteText
	if o.format == "json" {
		write = rep.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintln(stderr, "check-config: cannot write the report")
		return ExitProblems
	}
	if !rep.OK {
		return ExitProblems
	}
	return ExitOK
}

type options struct {
	envFile, format, env string
	list                 bool
}

// parseFlags reads the flags; ok is false when Command must return code.
func (rs *RuleSet) parseFlags(args []string, stdout, stderr io.Writer) (o options, code int, ok bool) {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the flag package quotes arguments in its errors
	fs.StringVar(&o.envFile, "env-file", "", "check the variables of this .env file instead of the environment")
	fs.StringVar(&o.format, "format", "text", "report format: text or json")
	fs.StringVar(&o.env, "env", "", "production or development (default: "+rs.envDefault()+")")
	fs.BoolVar(&o.list, "list", false, "list every variable with its type, default, secrecy and rules, then exit")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stderr, usage)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fmt.Fprintln(stderr)
		return o, rs.writeList(stdout, stderr), false
	case err != nil:
		fmt.Fprintln(stderr, "check-config: unknown flag or missing flag value")
	case fs.NArg() > 0:
		fmt.Fprintln(stderr, "check-config: unexpected argument after the flags")
	case o.format != "text" && o.format != "json":
		fmt.Fprintln(stderr, "check-config: --format must be text or json")
	case o.env != "" && o.env != string(Production) && o.env != string(Development):
		fmt.Fprintln(stderr, "check-config: --env must be production or development")
	default:
		return o, ExitOK, true
	}
	fmt.Fprintln(stderr, usage)
	return o, ExitUsage, false
}

func (rs *RuleSet) envDefault() string {
	if rs.EnvVar == "" {
		return "development"
	}
	return rs.EnvVar + ", else development"
}

func (rs *RuleSet) writeList(stdout, stderr io.Writer) int {
	if err := rs.WriteList(stdout); err != nil {
		fmt.Fprintln(stderr, "check-config: cannot write the list")
		return ExitUsage
	}
	return ExitOK
}

// readEnvFile reads an --env-file. Its errors name the flag and the kind of
// failure, not the path or the content.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	switch {
	case os.IsNotExist(err):
		return nil, errors.New("--env-file names a file that does not exist")
	case os.IsPermission(err):
		return nil, errors.New("--env-file names a file this process may not read")
	case err != nil:
		return nil, errors.New("--env-file names a file that cannot be read")
	}
	defer f.Close()
	return parseEnvFile(f)
}
