package starter

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReportPeriod(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		req      ReportRequest
		from, to time.Time
		bad      string
	}{
		{req: ReportRequest{}, from: now.Add(-720 * time.Hour), to: now},
		{req: ReportRequest{Since: "7d"}, from: now.Add(-7 * 24 * time.Hour), to: now},
		{req: ReportRequest{Month: "2026-11"}, from: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{req: ReportRequest{Month: "2026-11", Since: "1h"}, bad: "month"},
		{req: ReportRequest{Month: "November"}, bad: "month"},
		{req: ReportRequest{Since: "3xd"}, bad: "since"},
		{req: ReportRequest{Since: "400d"}, bad: "since"},
		{req: ReportRequest{Since: "-1h"}, bad: "since"},
	} {
		c.req.Now = now
		p, err := c.req.period()
		if c.bad != "" {
			var bad *BadRequest
			require.ErrorAs(t, err, &bad, "%+v", c.req)
			require.Equal(t, c.bad, bad.Field)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, c.from, p.From, "%+v", c.req)
		require.Equal(t, c.to, p.To)
	}
}

func TestReportFormat(t *testing.T) {
	require.Equal(t, "json", reportFormat(url.Values{}, ""))
	require.Equal(t, "html", reportFormat(url.Values{}, "text/html,application/xhtml+xml"))
	require.Equal(t, "md", reportFormat(url.Values{"format": {"markdown"}}, "text/html"))
	require.Equal(t, "pdf", reportFormat(url.Values{"format": {"pdf"}}, ""), "refused by the caller, naming it")
}

func TestStatusImpact(t *testing.T) {
	require.Equal(t, StateMajorOutage, worse(StateDegraded, StateMajorOutage))
	require.Equal(t, StateDegraded, worse(StateDegraded, StateMaintenance))
	require.Equal(t, StateMaintenance, worse("", StateMaintenance))
}
