package starter

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/triage"
	"github.com/incidentflow/incidentflow/workflows"
)

// alertmanagerWebhook is Alertmanager's webhook payload, version 4.
type alertmanagerWebhook struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []alertmanagerAlert `json:"alerts"`
}

type alertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// alertmanagerEvents validates a webhook and turns it into one event per
// alert, all keyed by the group key. Nothing is returned unless every alert
// is valid, so a sender's retry after a 400 cannot half-apply. A group key
// over incident.MaxKey is refused; alert content is never refused for its
// length, since refusing an alert pages nobody: it is cut instead.
func alertmanagerEvents(cfg *config.Config, integ config.Integration, w alertmanagerWebhook) ([]AlertEvent, error) {
	if w.Version != "" && w.Version != "4" {
		return nil, &BadRequest{Field: "version", Msg: fmt.Sprintf("unsupported webhook version %s (want \"4\")", quote(w.Version))}
	}
	if strings.TrimSpace(w.GroupKey) == "" {
		return nil, &BadRequest{Field: "groupKey", Msg: "required (the dedup key of the incident)"}
	}
	if err := checkLen("groupKey", w.GroupKey, incident.MaxKey); err != nil {
		return nil, err
	}
	if len(w.Alerts) == 0 {
		return nil, &BadRequest{Field: "alerts", Msg: "at least one alert is required"}
	}
	// Only a configured service or severity is taken from the labels, so
	// whatever a label holds, only a configured name reaches the incident.
	service := integ.Service
	if s := firstNonEmpty(w.CommonLabels["service"], w.GroupLabels["service"]); s != "" {
		if _, ok := cfg.Services[s]; ok {
			service = s
		}
	}
	severity := integ.DefaultSeverity
	explicit := false
	if s, ok := cfg.NormalizeSeverity(firstNonEmpty(w.CommonLabels["severity"], w.GroupLabels["severity"])); ok {
		severity, explicit = s, true
	}
	title := incident.Cut(firstNonEmpty(w.CommonAnnotations["summary"], w.CommonAnnotations["title"],
		w.CommonLabels["alertname"], w.GroupLabels["alertname"], w.GroupKey), incident.MaxTitle)

	events := make([]AlertEvent, 0, len(w.Alerts))
	for i, a := range w.Alerts {
		if a.Status != incident.AlertFiring && a.Status != incident.AlertResolved {
			return nil, &BadRequest{Field: fmt.Sprintf("alerts[%d].status", i), Msg: quote(a.Status) + " must be firing or resolved"}
		}
		sev := severity
		if s, ok := cfg.NormalizeSeverity(a.Labels["severity"]); ok && (!explicit || severityRank(cfg, s) < severityRank(cfg, sev)) {
			// The most severe alert in the group sets the incident's severity.
			sev, severity, explicit = s, s, true
		}
		events = append(events, AlertEvent{
			Key:      w.GroupKey,
			Title:    title,
			Service:  service,
			Severity: sev,
			Source:   integ.Name,
			Alert: workflows.AlertSignal{
				// The fingerprint of the whole label set, before any is dropped.
				Fingerprint: incident.CutID(firstNonEmpty(a.Fingerprint, labelFingerprint(a.Labels)), incident.MaxFingerprint),
				Status:      a.Status,
				Summary:     incident.Cut(firstNonEmpty(a.Annotations["summary"], a.Labels["alertname"]), incident.MaxTitle),
				Source:      integ.Name,
				Labels:      boundLabels(a.Labels),
				Runbook:     incident.RunbookURL(firstNonEmpty(a.Annotations["runbook_url"], w.CommonAnnotations["runbook_url"])),
				StartsAt:    startedAt(a.StartsAt),
			},
		})
	}
	if !explicit {
		severity = triagedGroup(cfg, service, w, severity)
	}
	for i := range events {
		events[i].Severity = severity
	}
	return events, nil
}

// triagedGroup applies the triage rules to each alert of a group (its
// labels and annotations over the group's common ones); the most severe wins.
func triagedGroup(cfg *config.Config, service string, w alertmanagerWebhook, fallback string) string {
	best := fallback
	found := false
	for _, a := range w.Alerts {
		values := map[string]string{"service": service}
		for _, m := range []map[string]string{w.CommonLabels, w.CommonAnnotations, a.Labels, a.Annotations} {
			for k, v := range m {
				values[k] = v
			}
		}
		if s, ok := triage.Classify(cfg.Triage.Rules, values); ok && (!found || severityRank(cfg, s) < severityRank(cfg, best)) {
			best, found = s, true
		}
	}
	return best
}

// triaged classifies one alert's values, else returns fallback.
func triaged(cfg *config.Config, values map[string]string, fallback string) string {
	if s, ok := triage.Classify(cfg.Triage.Rules, values); ok {
		return s
	}
	return fallback
}
func severityRank(cfg *config.Config, s string) int {
	return slices.Index(cfg.SeverityNames(), s)
}

// labelFingerprint identifies an alert by its label set when the sender
// gives no fingerprint.
func labelFingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// boundLabels is what an alert signal keeps of a sender's labels (or
// details): at most incident.MaxLabels of them, the first in key order so
// the same labels always keep the same subset, each key and value within
// incident.MaxLabel. A long key keeps a hash of itself (incident.CutID), so
// two long keys never become one label; a long value is cut and marked.
func boundLabels(labels map[string]string) map[string]string {
	if labels == nil {
		return nil
	}
	keys := slices.Sorted(maps.Keys(labels))
	if len(keys) > incident.MaxLabels {
		keys = keys[:incident.MaxLabels]
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[incident.CutID(k, incident.MaxLabel)] = incident.Cut(labels[k], incident.MaxLabel)
	}
	return out
}

// checkLen refuses s when it is longer than limit bytes, as a 400 naming
// field as the API spells it: "dedup_key: 600 bytes is too long (at most 512)".
func checkLen(field, s string, limit int) error {
	var long *incident.TooLong
	if errors.As(incident.CheckLen(field, s, limit), &long) {
		return tooLong(long)
	}
	return nil
}

// tooLong is an *incident.TooLong as the 400 the intakes answer.
func tooLong(long *incident.TooLong) *BadRequest {
	return &BadRequest{Field: long.Field, Msg: strings.TrimPrefix(long.Error(), long.Field+": ")}
}

// quote is %q of a sender's value for an error message, cut to
// incident.MaxName so a 400 never echoes a huge value back.
func quote(s string) string {
	return strconv.Quote(incident.Cut(s, incident.MaxName))
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// startedAt reads a sender's RFC 3339 start time; anything else (Go's zero
// time, which Alertmanager sends for "unknown", or garbage) is no start.
func startedAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 {
		return time.Time{}
	}
	return t
}
