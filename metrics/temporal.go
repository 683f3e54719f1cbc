package metrics

import (
	"log/slog"
	"sync"

	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// sdkBuckets cover the SDK's timers: a request or task in milliseconds, a
// long poll of about a minute.
var sdkBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

var (
	temporalOnce    sync.Once
	temporalHandler client.MetricsHandler
)

// TemporalHandler is the Temporal SDK's metrics handler (client.Options.
// MetricsHandler) for this process: the SDK's own worker and client
// metrics (temporal_request_total, temporal_workflow_task_execution_latency_seconds, ...)
// go through OpenTelemetry's Prometheus exporter onto the same registry,
// so one /metrics shows ours and the SDK's. Every client of the process
// shares it: a second exporter on the registry would clash.
func TemporalHandler() client.MetricsHandler {
	temporalOnce.Do(func() {
		exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
		if err != nil {
			// Metrics must never stop a worker from paging.
			slog.Warn("temporal sdk metrics are off", "error", err)
			temporalHandler = client.MetricsNopHandler
			return
		}
		provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: sdkBuckets}},
		)))
		temporalHandler = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter: provider.Meter("temporal-sdk-go"),
			// Counters as Prometheus counters (_total), not up-down gauges.
			UseMonotonicCounters: true,
			// The default panics; a metric that cannot be made is not worth a crash.
			OnError: func(err error) { slog.Warn("temporal sdk metric", "error", err) },
		})
	})
	return temporalHandler
}
