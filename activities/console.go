package activities

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow/config"
)

// Console prints pages on a writer: the notifier of dev mode, and the one
// that reaches anybody when nothing else is configured.
type Console struct {
	mu  sync.Mutex
	Out io.Writer
	// seen drops a retried delivery of the same idempotency key.
	seen map[string]bool
}

func (c *Console) Name() string { return "console" }

func (c *Console) NotifyUser(_ context.Context, name string, _ config.User, m Message) (bool, error) {
	return true, c.print(fmt.Sprintf("PAGE %s: %s", name, m.Text), m.IdempotencyKey)
}

func (c *Console) NotifyChannel(_ context.Context, channel string, m Message) (bool, error) {
	if channel == "" {
		channel = "console"
	}
	return true, c.print(fmt.Sprintf("POST %s: %s", channel, m.Text), m.IdempotencyKey)
}

func (c *Console) print(line, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key != "" {
		if c.seen[key] {
			return nil
		}
		if c.seen == nil {
			c.seen = map[string]bool{}
		}
		c.seen[key] = true
	}
	_, err := fmt.Fprintf(c.Out, "%s %s\n", time.Now().Format("15:04:05.000"), line)
	return err
}
