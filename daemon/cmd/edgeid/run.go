package main

import (
	"context"
	"log/slog"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/node"
)

// runRun is `edgeid run`: the daemon, assembled and run by package node.
func runRun(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "run", "")
	cfgPath := fs.String("config", "", "configuration file (default: the embedded simulation defaults)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("run takes no arguments")
	}
	cfg, err := config.Defaults()
	if *cfgPath != "" {
		cfg, err = config.Load(*cfgPath)
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, err := node.New(ctx, cfg, node.Opts{Logger: log})
	if err != nil {
		return err
	}
	return n.Run(ctx)
}
