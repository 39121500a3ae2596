// Command marketplace is the module's example server: a small marketplace
// that composes every package of github.com/dedw3n/hardening.
//
//	go run ./examples/marketplace                  # serve on :8080, no set-up needed
//	go run ./examples/marketplace check-config     # the deploy gate: exit 0 clean, 1 problems, 2 usage
//
// Configuration comes from the environment: `marketplace check-config --list`
// prints every variable with its type and default (declared in config.go).
// Without DATABASE_URL sessions live in memory; without a network the rates
// come from the static tier.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/dedw3n/hardening/configcheck"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check-config" {
		os.Exit(rules().Command(os.Args[2:], configcheck.Source{}, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "usage: marketplace [check-config [flags]]\n")
		os.Exit(2)
	}
	os.Exit(run())
}

func run() int {
	// The deploy gate: the check check-config runs, in the environment
	// APP_ENV selects; the server starts only when it finds no error, and
	// then reads every value from it (NAME_FILE secrets included).
	report := rules().Load(configcheck.Source{})
	if !report.OK {
		fmt.Fprintf(os.Stderr, "marketplace: refusing to start: the %s configuration check failed\n", report.Env)
		_ = report.WriteText(os.Stderr)
		return 1
	}
	cfg := configFrom(report)
	logger := newLogger(cfg)
	if report.Warnings > 0 {
		logger.Warn("configuration check found problems", "report", report)
	}

	a, err := newApp(context.Background(), cfg, logger)
	if err != nil {
		logger.Error("start-up failed", "err", err)
		return 1
	}
	if err := a.serve(); err != nil {
		logger.Error("shutdown finished with errors", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg config) *slog.Logger {
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}
