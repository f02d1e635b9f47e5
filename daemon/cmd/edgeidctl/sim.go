package main

import "context"

func runSim(ctx context.Context, e env, args []string) error {
	return usagef("sim is not implemented yet")
}
