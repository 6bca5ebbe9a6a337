package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/ytdnn/ytdnn/examples/serve/server"
	"github.com/ytdnn/ytdnn/retrieval/weaviate"
)

// beforeLoad runs once the SIGHUP handler is installed, before the model
// directory is loaded (a test hook: a SIGHUP during start-up).
var beforeLoad = func() {}

func main() {
	dir := flag.String("models", "models", "model directory")
	root := flag.String("model-root", "", "directory whose subdirectories /admin/reload may load by name (default: reload -models only)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	adminAddr := flag.String("admin-addr", "", "serve the admin routes on this address instead of -addr")
	tokenFile := flag.String("admin-token-file", "", "file holding the admin bearer token; without it the admin routes are off")
	candidates := flag.Int("candidates", 300, "candidates retrieved and ranked per request (at least the request's n)")
	timeout := flag.Duration("timeout", 2*time.Second, "per-request work limit")
	remote := flag.String("retrieval", "", "retrieve from a Weaviate collection, weaviate://HOST:PORT/COLLECTION ({model} in the name: the model's version), instead of in process (plain HTTP, anonymous access: a Weaviate on a trusted network)")
	remoteTimeout := flag.Duration("retrieval-timeout", time.Second, "with -retrieval: the limit of each call to the engine")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the serving (from the model's load to the shutdown on SIGINT/SIGTERM) to this file, for go tool pprof")
	flag.Parse()
	if *candidates < 1 {
		log.Fatalf("serve: -candidates %d: retrieve at least 1 candidate per request (a request for n more retrieves n)", *candidates)
	}
	if *timeout <= 0 {
		log.Fatalf("serve: -timeout %v: the per-request limit must be positive", *timeout)
	}
	var lo server.LoadOptions
	if *remote != "" {
		t, err := weaviate.ParseURL(*remote)
		if err != nil {
			log.Fatal(err)
		}
		lo = server.LoadOptions{Retrieval: &t, RetrievalTimeout: *remoteTimeout}
	}
	logger := log.New(os.Stderr, "serve: ", log.LstdFlags)
	// SIGHUP is caught before anything else: its default action would kill
	// a process still loading its models. One that comes during start-up
	// reloads the directory once the server runs. SIGINT and SIGTERM keep
	// their default action until then: they stop a slow load at once.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	beforeLoad()
	m, err := server.LoadWith(*dir, lo)
	if err != nil {
		logger.Fatalf("loading %s: %v (train a model directory with: go run ./examples/pipeline gen -out DATA && go run ./examples/pipeline train -data DATA -spec DATA/spec.json -out MODELDIR)", *dir, err)
	}
	s := server.New(m)
	s.LoadOptions = lo
	s.Candidates, s.Timeout, s.Log, s.ModelRoot = *candidates, *timeout, logger, *root
	if *tokenFile != "" {
		if s.AdminToken, err = server.ReadToken(*tokenFile); err != nil {
			logger.Fatal(err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go s.ReloadOnSignal(ctx, hup)

	public := s.Handler()
	if *adminAddr != "" {
		public = s.PublicHandler()
		aln, err := net.Listen("tcp", *adminAddr)
		if err != nil {
			logger.Fatal(err)
		}
		go func() {
			if err := server.Serve(ctx, aln, s.AdminHandler(), time.Minute, 10*time.Second); err != nil {
				logger.Printf("admin listener: %v", err)
			}
		}()
		logger.Printf("admin routes on http://%s", *adminAddr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Fatal(err)
	}
	stopProfile := func(*log.Logger) {}
	if *cpuProfile != "" {
		if stopProfile, err = startCPUProfile(*cpuProfile); err != nil {
			logger.Fatal(err)
		}
	}
	logger.Printf("serving %s on http://%s (admin routes %s)", *dir, ln.Addr(), adminState(s, *adminAddr))
	err = server.Serve(ctx, ln, public, *timeout+5*time.Second, 10*time.Second)
	stopProfile(logger) // before a Fatal, which runs no deferred call
	if err != nil {
		logger.Fatal(err)
	}
	logger.Print("stopped")
}

// startCPUProfile profiles the process into path until the returned stop
// runs (at shutdown): a profile under load, taken where the load runs.
func startCPUProfile(path string) (stop func(*log.Logger), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func(l *log.Logger) {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			l.Printf("-cpuprofile: %v", err)
			return
		}
		l.Printf("CPU profile written to %s", path)
	}, nil
}

func adminState(s *server.Server, adminAddr string) string {
	switch {
	case s.AdminToken == "":
		return "off: no -admin-token-file"
	case adminAddr != "":
		return "on " + adminAddr
	}
	return "on"
}
