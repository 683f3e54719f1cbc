// Package metrics owns incidentflow's Prometheus registry. Other packages
// call its typed helpers (metrics.Intake, metrics.Page, ...) and never touch
// Prometheus, so every label value passes through one place that keeps the
// number of series bounded: no incident ID, key, title or other value a
// sender chooses ever becomes a label.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "incidentflow"

// Other stands in for any label value outside the known set.
const Other = "other"

// Intake results: the class of the answer an alert sender got.
const (
	Accepted     = "accepted"
	BadRequest   = "bad_request"
	Unauthorized = "unauthorized"
	NotFound     = "not_found"
	Conflict     = "conflict"
	TooLarge     = "too_large"
	Unavailable  = "unavailable"
	Error        = "error"
)

// Page results: delivered, failed (will be retried) or refused (the
// channel said never, or nothing can reach the target).
const (
	Delivered = "delivered"
	Failed    = "failed"
	Refused   = "refused"
)

// Channels are the channel label's values; anything else is Other.
var Channels = []string{"slack", "email", "sms", "voice", "webhook", "teams", "mattermost", "console"}

// Kinds are the integration kinds the intake label takes.
var Kinds = []string{"alertmanager", "grafana", "events_v2", "generic", "opsgenie"}

var registry = prometheus.NewRegistry()

// latencyBuckets suit an intake answer: a signal to Temporal, tens of
// milliseconds when well, seconds when not.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// ackBuckets span a fast ack (seconds) to one left overnight.
var ackBuckets = []float64{15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400}

var (
	intakeRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "intake_requests_total",
		Help: "Alert intake requests by integration kind, configured integration name and result.",
	}, []string{"kind", "integration", "result"})
	intakeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "intake_request_duration_seconds",
		Help: "Time to answer an alert intake request (the alert is durable in Temporal when it is accepted).", Buckets: latencyBuckets,
	}, []string{"kind"})
	incidentsOpened = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "incidents_opened_total",
		Help: "Incidents started (a new incident workflow run) by service and severity.",
	}, []string{"service", "severity"})
	pages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "pages_total",
		Help: "Page delivery attempts by channel and result (delivered, failed: retried, refused: never retried).",
	}, []string{"channel", "result"})
	escalations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "escalations_total",
		Help: "Pages sent for an escalation step (each target or notification rule once), by step.",
	}, []string{"step"})
	acks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "acks_total",
		Help: "Acknowledgements taken by incidents, by severity.",
	}, []string{"severity"})
	timeToAck = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "time_to_ack_seconds",
		Help: "Time from an incident opening to its first acknowledgement, by severity.", Buckets: ackBuckets,
	}, []string{"severity"})
	openIncidents = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "open_incidents",
		Help: "Running incidents by status, from Temporal visibility (refreshed every 30s).",
	}, []string{"status"})
	overduePostmortems = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "overdue_postmortems",
		Help: "Running post-mortems past their due time and not done (refreshed every 30s).",
	})
	overdueActionItems = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "overdue_action_items",
		Help: "Open action items of running post-mortems past their due date (refreshed every 30s).",
	})
	refreshFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "visibility_refresh_failures_total",
		Help: "Failed refreshes of the gauges read from Temporal, by gauge; the gauges keep their last value.",
	}, []string{"gauge"})
	refreshedAt = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "visibility_refreshed_timestamp_seconds",
		Help: "When the gauges read from Temporal were last refreshed, by gauge (alert on it going stale).",
	}, []string{"gauge"})
)

func init() {
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		intakeRequests, intakeDuration, incidentsOpened, pages, escalations, acks, timeToAck,
		openIncidents, overduePostmortems, overdueActionItems, refreshFailures, refreshedAt,
	)
}

// Registry is the one registry /metrics serves; the Temporal SDK's metrics
// are registered on it too (see TemporalHandler).
func Registry() *prometheus.Registry { return registry }

// Handler serves the registry in the Prometheus exposition format. A
// collector that fails leaves the rest served rather than a 500.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry, ErrorHandling: promhttp.ContinueOnError})
}

// names is a label's allowed values: the configured ones, and while none
// are configured (a test, a tool) the first maxUnconfigured seen, so even
// a caller that forgot to configure cannot grow the series without bound.
type names struct {
	mu         sync.Mutex
	configured map[string]bool
	seen       map[string]bool
}

const maxUnconfigured = 32

func (n *names) set(values []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.configured = map[string]bool{}
	for _, v := range values {
		n.configured[v] = true
	}
}

func (n *names) label(v string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.configured != nil {
		if n.configured[v] {
			return v
		}
		return Other
	}
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if n.seen[v] || (len(n.seen) < maxUnconfigured && len(v) <= 64) {
		n.seen[v] = true
		return v
	}
	return Other
}

var (
	services     names
	severities   names
	integrations names
)

// Known sets the configured names that may appear as labels; any other
// service, severity or integration is counted as "other".
func Known(serviceNames, severityNames, integrationNames []string) {
	services.set(serviceNames)
	severities.set(severityNames)
	integrations.set(append([]string{"unknown"}, integrationNames...))
}

func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return Other
}

// IntakeResult is the result class of an intake answer's status code.
func IntakeResult(status int) string {
	switch {
	case status < 300:
		return Accepted
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Unauthorized
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusConflict:
		return Conflict
	case status == http.StatusRequestEntityTooLarge:
		return TooLarge
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return Unavailable
	case status < 500:
		return BadRequest
	}
	return Error
}

// Intake counts one alert intake request and how long it took to answer.
// integration is the configured integration that sent it ("" before the
// sender was known: a bad token, say).
func Intake(kind, integration string, status int, took time.Duration) {
	kind = oneOf(kind, Kinds)
	if integration == "" {
		integration = "unknown"
	}
	intakeRequests.WithLabelValues(kind, integrations.label(integration), IntakeResult(status)).Inc()
	intakeDuration.WithLabelValues(kind).Observe(took.Seconds())
}

// Opened counts an incident that started.
func Opened(service, severity string) {
	incidentsOpened.WithLabelValues(services.label(service), severities.label(severity)).Inc()
}

// Page counts one delivery attempt of a page.
func Page(channel, result string) {
	pages.WithLabelValues(oneOf(channel, Channels), oneOf(result, []string{Delivered, Failed, Refused})).Inc()
}

// Escalation counts a page sent for escalation step (from 1); steps past
// 9 share "10+".
func Escalation(step int) {
	label := "10+"
	switch {
	case step < 1:
		label = "0"
	case step < 10:
		label = strconv.Itoa(step)
	}
	escalations.WithLabelValues(label).Inc()
}

// Ack counts an acknowledgement; first says whether it was the incident's
// first, whose time from opening is the time to ack.
func Ack(severity string, first bool, sinceOpened time.Duration) {
	sev := severities.label(severity)
	acks.WithLabelValues(sev).Inc()
	if first && sinceOpened >= 0 {
		timeToAck.WithLabelValues(sev).Observe(sinceOpened.Seconds())
	}
}

// SetOpen sets the open incidents gauge to counts, one per status; every
// status of statuses missing from counts is set to 0, so a status that
// emptied does not keep its last count.
func SetOpen(statuses []string, counts map[string]int) {
	for _, st := range statuses {
		openIncidents.WithLabelValues(st).Set(float64(counts[st]))
	}
	refreshed("open_incidents")
}

// SetOverdue sets the overdue post-mortem and action item gauges.
func SetOverdue(postmortems, actionItems int) {
	overduePostmortems.Set(float64(postmortems))
	overdueActionItems.Set(float64(actionItems))
	refreshed("overdue")
}

// RefreshFailed counts a failed refresh of gauge ("open_incidents" or
// "overdue").
func RefreshFailed(gauge string) {
	refreshFailures.WithLabelValues(oneOf(gauge, []string{"open_incidents", "overdue"})).Inc()
}

func refreshed(gauge string) {
	refreshedAt.WithLabelValues(gauge).Set(float64(time.Now().Unix()))
}

// Value is the current value of the series of name with exactly labels
// (a counter or gauge; a histogram's sample count), 0 when there is none:
// for tests and tools that check a metric moved.
func Value(name string, labels map[string]string) float64 {
	families, _ := registry.Gather()
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}
