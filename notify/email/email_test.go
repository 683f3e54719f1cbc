package email

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/internal/fakesmtp"
	"github.com/incidentflow/incidentflow/notify"
)

func TestSendMailsThePageWithItsKeyAsMessageID(t *testing.T) {
	srv, err := fakesmtp.Start("pager", "s3cret")
	require.NoError(t, err)
	defer srv.Close()
	host, port := srv.Addr()
	s := &Sender{Host: host, Port: port, From: "incidentflow@example.com", Username: "pager", Password: "s3cret"}
	page := notify.Page{IncidentID: "incident-db", Title: "db down", Severity: "P1", Service: "db", Text: "[P1] db down (round 1 step 1)", IdempotencyKey: "incident-db/g0/r1/s1/user:dave"}
	require.NoError(t, s.Send(context.Background(), "dave@example.com", page))
	require.NoError(t, s.Send(context.Background(), "dave@example.com", page))
	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	m := msgs[0]
	require.Equal(t, "incidentflow@example.com", m.From)
	require.Equal(t, []string{"dave@example.com"}, m.To)
	require.Equal(t, "[P1] incident-db: db down", m.Header.Get("Subject"))
	require.Contains(t, m.Body, "[P1] db down (round 1 step 1)")
	require.Equal(t, "incident-db", m.Header.Get("X-Incidentflow-Incident"))
	require.True(t, strings.HasSuffix(m.Header.Get("Message-ID"), "@incidentflow>"))
	require.Equal(t, m.Header.Get("Message-ID"), msgs[1].Header.Get("Message-ID"), "a retried send is the same message")
}

func TestSendSaysWhetherToRetry(t *testing.T) {
	srv, err := fakesmtp.Start("", "")
	require.NoError(t, err)
	defer srv.Close()
	srv.Refuse("gone@example.com", 550, "no such user")
	srv.Refuse("full@example.com", 452, "mailbox full, try later")
	host, port := srv.Addr()
	s := &Sender{Host: host, Port: port, From: "incidentflow@example.com"}
	err = s.Send(context.Background(), "gone@example.com", notify.Page{IdempotencyKey: "a"})
	require.Error(t, err)
	require.True(t, notify.IsPermanent(err), "550 is permanent: %v", err)
	err = s.Send(context.Background(), "full@example.com", notify.Page{IdempotencyKey: "b"})
	require.Error(t, err)
	require.False(t, notify.IsPermanent(err), "452 is worth retrying: %v", err)

	wrong := &Sender{Host: host, Port: 1, From: "incidentflow@example.com"}
	err = wrong.Send(context.Background(), "x@example.com", notify.Page{IdempotencyKey: "c"})
	require.Error(t, err)
	require.False(t, notify.IsPermanent(err), "a server that does not answer may later: %v", err)
}
