package pgtemporal

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const clusterName = "active"

// Database names, as in Temporal's docker-compose and Helm charts.
const (
	DatabaseTemporal   = "temporal"
	DatabaseVisibility = "temporal_visibility"
)

// ServerOptions fix everything a Temporal server needs to come back on the
// same addresses and the same data after a restart; it travels as JSON to
// a server process.
type ServerOptions struct {
	// Postgres is host:port of the cluster; User its (trusted) user.
	Postgres string
	User     string
	// Ports on 127.0.0.1: the frontend (clients connect here) and its HTTP
	// API, and the history, matching and worker services.
	FrontendPort, FrontendHTTPPort, HistoryPort, MatchingPort, WorkerPort int
	// ClusterID must stay the same across restarts on one database.
	ClusterID string
	Namespace string
	// LogLevel of the server's own log (zap level name); default "warn".
	LogLevel string
}

// NewServerOptions picks free ports for a server on pg.
func NewServerOptions(pg *Postgres, namespace, clusterID string) (ServerOptions, error) {
	o := ServerOptions{Postgres: pg.Addr(), User: pg.User, Namespace: namespace, ClusterID: clusterID}
	for _, p := range []*int{&o.FrontendPort, &o.FrontendHTTPPort, &o.HistoryPort, &o.MatchingPort, &o.WorkerPort} {
		var err error
		if *p, err = FreePort(); err != nil {
			return o, err
		}
	}
	return o, nil
}

// FrontendAddress is host:port for Temporal clients.
func (o ServerOptions) FrontendAddress() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(o.FrontendPort))
}

// SQL is the persistence config of one of the two databases.
func (o ServerOptions) SQL(database string) *config.SQL {
	return &config.SQL{
		PluginName:      postgresql.PluginName, // "postgres12"
		DatabaseName:    database,
		ConnectAddr:     o.Postgres,
		ConnectProtocol: "tcp",
		User:            o.User,
		MaxConns:        20,
		MaxIdleConns:    20,
		MaxConnLifetime: time.Hour,
	}
}

// Prepare applies both schemas (idempotent) and registers the namespace
// in the database, so it is usable the moment the server starts.
func Prepare(o ServerOptions) error {
	if err := SetupSchema(o.SQL(DatabaseTemporal), sqlplugin.DbKindMain); err != nil {
		return err
	}
	if err := SetupSchema(o.SQL(DatabaseVisibility), sqlplugin.DbKindVisibility); err != nil {
		return err
	}
	// The server module's helper writes a namespace row through the SQL
	// plugin named in the config (here postgres12), as the dev servers do;
	// an existing namespace is left alone.
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, nil)
	if err != nil {
		return err
	}
	if err := sqliteschema.CreateNamespaces(o.SQL(DatabaseTemporal), ns); err != nil {
		return fmt.Errorf("register namespace %s: %w", o.Namespace, err)
	}
	return nil
}

// NewServer builds (but does not start) a Temporal server persisting to
// PostgreSQL through the postgres12 plugin, every service in one process.
func NewServer(o ServerOptions) (temporal.Server, error) {
	ip := "127.0.0.1"
	ports := map[primitives.ServiceName]int{
		primitives.FrontendService: o.FrontendPort, primitives.HistoryService: o.HistoryPort,
		primitives.MatchingService: o.MatchingPort, primitives.WorkerService: o.WorkerPort,
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	services := map[string]config.Service{}
	for name, port := range ports {
		var svc config.Service
		svc.RPC.GRPCPort = port
		svc.RPC.BindOnIP = ip
		if name == primitives.FrontendService {
			svc.RPC.HTTPPort = o.FrontendHTTPPort
		}
		services[string(name)] = svc
		hosts[name] = static.SingleLocalHost(net.JoinHostPort(ip, strconv.Itoa(port)))
	}

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = ip
	conf.Persistence.DefaultStore = "postgres"
	conf.Persistence.VisibilityStore = "postgres-visibility"
	conf.Persistence.NumHistoryShards = 4
	conf.Persistence.DataStores = map[string]config.DataStore{
		"postgres":            {SQL: o.SQL(DatabaseTemporal)},
		"postgres-visibility": {SQL: o.SQL(DatabaseVisibility)},
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             o.FrontendAddress(),
				HTTPAddress:            net.JoinHostPort(ip, strconv.Itoa(o.FrontendHTTPPort)),
				ClusterID:              o.ClusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = services
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = o.FrontendAddress()

	level := o.LogLevel
	if level == "" {
		level = "warn"
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: level, Format: "console"}))
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	dyn := dynamicconfig.StaticClient{
		// Search attributes added at start-up are usable at once (tests).
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
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

// Dial connects to address once the frontend answers health checks, or
// fails after timeout.
func Dial(ctx context.Context, address, namespace string, timeout time.Duration) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: address, Namespace: namespace,
			Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
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

// AddSearchAttributes registers names as Keyword search attributes on the
// namespace through the operator service (what `temporal operator
// search-attribute create` does), skipping those already there.
func AddSearchAttributes(ctx context.Context, c client.Client, namespace string, names []string) error {
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range names {
		if _, ok := existing.GetCustomAttributes()[name]; !ok {
			missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing}); err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// Run prepares the databases, starts the server and serves until ctx is
// done, then stops it: the body of a Temporal server process.
func Run(ctx context.Context, o ServerOptions) error {
	if err := Prepare(o); err != nil {
		return err
	}
	srv, err := NewServer(o)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start temporal server: %w", err)
	}
	<-ctx.Done()
	return srv.Stop()
}
