package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStopSignalsCancel: SIGTERM (what a scheduler or container runtime
// sends) cancels the run's context as SIGINT does, so the run cleans up its
// spill files instead of dying with them on disk.
func TestStopSignalsCancel(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
			defer stop()
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatalf("%v did not cancel the run", sig)
			}
			assert.ErrorIs(t, ctx.Err(), context.Canceled)
		})
	}
}
