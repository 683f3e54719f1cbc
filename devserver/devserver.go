// Package devserver embeds a real Temporal server (SQLite persistence) and,
// optionally, the Temporal UI in this process, for `incidentflow dev` and for
// end-to-end tests. It is kept small and separate because everything that
// links it becomes a ~200 MB binary that is slow to build.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const clusterName = "active"

// Options describes one embedded server.
type Options struct {
	// IP to bind every listener on; must be an IP, not a host name.
	IP string
	// Port of the frontend gRPC service (clients connect here). 0 picks a free port.
	Port int
	// UIPort serves the Temporal UI when non-zero.
	UIPort int
	// DBFile is the SQLite file; "" or ":memory:" keeps everything in memory.
	DBFile    string
	Namespace string
	// SearchAttributes are registered (Keyword) on the namespace, on new and
	// existing databases alike.
	SearchAttributes []string
	Logger           *slog.Logger
	// LogLevel of the server's own logs; it is chatty below Warn.
	LogLevel slog.Level
}

// Server is a running embedded Temporal server.
type Server struct {
	opts     Options
	temporal temporal.Server
	ui       *uiserver.Server
	stopOnce sync.Once
}

// Start starts the server, waits until its frontend answers and registers the
// search attributes. The caller must Stop it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DBFile == ":memory:" {
		opts.DBFile = ""
	}
	var err error
	if opts.Port == 0 {
		if opts.Port, err = freePort(opts.IP); err != nil {
			return nil, err
		}
	}
	srv, err := buildServer(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, temporal: srv}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	if opts.UIPort != 0 {
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                opts.IP,
			Port:                opts.UIPort,
			TemporalGRPCAddress: s.FrontendAddress(),
			EnableUI:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
		}))
		// ui.Start blocks until Stop; a failure to bind is only visible here.
		go func() {
			if err := s.ui.Start(); err != nil && !errors.Is(err, net.ErrClosed) {
				opts.Logger.Error("temporal ui stopped", "error", err)
			}
		}()
	}
	if err := s.registerSearchAttributes(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// FrontendAddress is host:port for Temporal clients.
func (s *Server) FrontendAddress() string {
	return net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.Port))
}

// UIAddress is the Temporal UI's base URL, or "" when the UI is off.
func (s *Server) UIAddress() string {
	if s.ui == nil {
		return ""
	}
	return "http://" + net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.UIPort))
}

// Namespace the server was started with.
func (s *Server) Namespace() string { return s.opts.Namespace }

// Stop stops the UI and the server; safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.ui != nil {
			s.ui.Stop()
		}
		_ = s.temporal.Stop()
	})
}

func (s *Server) registerSearchAttributes(ctx context.Context) error {
	if len(s.opts.SearchAttributes) == 0 {
		return nil
	}
	c, err := dialWhenReady(ctx, s.FrontendAddress(), s.opts.Namespace)
	if err != nil {
		return err
	}
	defer c.Close()
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.opts.Namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range s.opts.SearchAttributes {
		if _, ok := existing.GetCustomAttributes()[name]; !ok {
			missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        s.opts.Namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// dialWhenReady connects once the frontend answers health checks; the server
// reports Start before every service is serving.
func dialWhenReady(ctx context.Context, address, namespace string) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var lastErr error
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: address, Namespace: namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				return c, nil
			}
			c.Close()
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("temporal frontend %s not ready: %w", address, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func buildServer(opts Options) (temporal.Server, error) {
	sqlConf, err := sqlConfig(opts)
	if err != nil {
		return nil, err
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	services := map[string]config.Service{}
	for _, name := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		port := opts.Port
		if name != primitives.FrontendService {
			if port, err = freePort(opts.IP); err != nil {
				return nil, err
			}
		}
		var svc config.Service
		svc.RPC.GRPCPort = port
		svc.RPC.BindOnIP = opts.IP
		if name == primitives.FrontendService {
			if svc.RPC.HTTPPort, err = freePort(opts.IP); err != nil {
				return nil, err
			}
		}
		services[string(name)] = svc
		hosts[name] = static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(port)))
	}
	frontendAddr := net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port))

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = opts.IP
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            net.JoinHostPort(opts.IP, strconv.Itoa(services[string(primitives.FrontendService)].RPC.HTTPPort)),
				ClusterID:              uuid.NewString(),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = services
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr

	logger := serverLogger{log: opts.Logger.With("component", "temporal"), level: opts.LogLevel}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	dyn := dynamicconfig.StaticClient{
		// Search attributes registered at start-up are usable at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key():      true,
		dynamicconfig.FrontendPersistenceMaxQPS.Key():                    10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():                     45000,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		// This server has one history shard, so each of its task queues
		// is read by one reader for every workflow. At the default 20
		// reads a second, every hop through the transfer queue (a child
		// started, a workflow task after an activity) waited ~45 ms and
		// every timer up to 50 ms: a first page through a child waited on
		// two of them (its start and its first task), 112 ms in all.
		dynamicconfig.TransferProcessorMaxPollRPS.Key():   shardReadsPerSecond,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():      shardReadsPerSecond,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): shardReadsPerSecond,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():   shardReadsPerSecond,
	}
	return temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
}

// shardReadsPerSecond bounds how often the one shard reads each of its
// task queues. Reads are driven by new tasks, so this bounds a hop's wait
// (1 ms), not the load: an idle server reads no more than before.
const shardReadsPerSecond = 1000

func sqlConfig(opts Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DBFile == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		// A unique name keeps two in-memory servers in one process apart.
		conf.DatabaseName = "incidentflow-" + uuid.NewString()
	} else {
		conf.ConnectAttributes = map[string]string{"mode": "rwc"}
		conf.DatabaseName = opts.DBFile
	}
	if opts.DBFile != "" {
		if _, err := os.Stat(opts.DBFile); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(filepath.Dir(opts.DBFile)); err != nil {
				return nil, fmt.Errorf("database directory: %w", err)
			}
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("set up sqlite schema in %s: %w", opts.DBFile, err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("namespace %q config: %w", opts.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", opts.Namespace, err)
	}
	return conf, nil
}

// handedOut is every port freePort gave in this process: two servers
// starting side by side (tests, the bench) must never be given the same.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freePort finds a port the server can bind a moment later. It looks
// below Linux's ephemeral range (32768-60999): a port the kernel hands out
// for ":0" is one it also hands to outgoing connections, and once released
// one of those took it before the server bound it (the server's worker
// service then failed to listen, and panicked).
func freePort(ip string) (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if handedOut.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		handedOut.ports[port] = true
		return port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	handedOut.ports[port] = true
	return port, nil
}

// serverLogger adapts slog to the server's tag-based logger interface.
type serverLogger struct {
	log   *slog.Logger
	level slog.Level
}

func (l serverLogger) Debug(msg string, tags ...tag.Tag) { l.emit(slog.LevelDebug, msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)  { l.emit(slog.LevelInfo, msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag)  { l.emit(slog.LevelWarn, msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
}
func (l serverLogger) Panic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) Fatal(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }

func (l serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level < l.level || !l.log.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	l.log.LogAttrs(context.Background(), level, msg, attrs...)
}
