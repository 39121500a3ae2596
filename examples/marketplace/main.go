// Command marketplace is the module's example server: a small marketplace
// that composes every package of github.com/dedw3n/hardening.
//
//	go run ./examples/marketplace                  # serve on :8080, no set-up needed
//	go run ./examples/marketplace check-config     # the deploy gate: exit 0 clean, 1 problems, 2 usage
//
// Configuration comes from the environment (see config.go for every variable
// and its default). Without DATABASE_URL sessions live in memory; without a
// network the rates come from the static tier.
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
		os.Exit(configcheck.Marketplace().Command(os.Args[2:], configcheck.Source{}, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "usage: marketplace [check-config [flags]]\n")
		os.Exit(2)
	}
	os.Exit(run())
}

func run() int {
	// The deploy gate: in production a failed check refuses to start.
	env, _ := configcheck.ParseEnv(os.Getenv("APP_ENV"))
	report := configcheck.Marketplace().Check(env, configcheck.Source{})
	if env == configcheck.Production && !report.OK {
		fmt.Fprintln(os.Stderr, "marketplace: refusing to start: the production configuration check failed")
		_ = report.WriteText(os.Stderr)
		return 1
	}

	// Values come through the report, so NAME_FILE secrets are honoured.
	cfg, err := loadConfig(func(name string) (string, bool) {
		if v, ok := report.Value(name); ok {
			return v, true
		}
		return os.LookupEnv(name)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "marketplace:", err)
		return 1
	}
	logger := newLogger(cfg)
	if report.Warnings+report.Errors > 0 {
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
