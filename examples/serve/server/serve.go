package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Serve serves h on ln until ctx is done, then shuts down gracefully: it
// stops accepting connections and waits up to grace for requests in flight
// to finish. writeTimeout bounds each response.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, writeTimeout, grace time.Duration) error {
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: writeTimeout, IdleTimeout: time.Minute,
	}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		done <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}

// ReloadOnSignal reloads the current model directory on every value
// received from sigs (SIGHUP, say) until ctx is done. A failed reload is
// logged and counted, and the old models keep serving; nothing a model
// directory holds can stop the loop.
func (s *Server) ReloadOnSignal(ctx context.Context, sigs <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sigs:
			s.Reload("") // errors are logged and counted by Reload
		}
	}
}

// Bounds of the admin token file.
const (
	// MinTokenLen is the shortest admin token ReadToken accepts.
	MinTokenLen = 16
	// MaxTokenFile is the largest admin token file ReadToken reads, in
	// bytes.
	MaxTokenFile = 4 << 10
)

// ReadToken reads an admin token from a file (surrounding whitespace
// trimmed). The file must be a regular file (a link to one is followed:
// secrets are often mounted as links) of at most MaxTokenFile bytes; a
// token shorter than MinTokenLen bytes is an error.
func ReadToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxTokenFile {
		return "", fmt.Errorf("admin token file %s is not a regular file of at most %d bytes", path, MaxTokenFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxTokenFile+1))
	if err != nil {
		return "", err
	}
	if len(raw) > MaxTokenFile {
		return "", fmt.Errorf("admin token file %s holds more than %d bytes", path, MaxTokenFile)
	}
	tok := strings.TrimSpace(string(raw))
	if len(tok) < MinTokenLen {
		return "", fmt.Errorf("admin token in %s is shorter than %d bytes", path, MinTokenLen)
	}
	return tok, nil
}
