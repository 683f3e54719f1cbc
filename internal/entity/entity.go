// Package entity reads the long-running workflows that hold one durable
// thing each (a schedule's overrides, the maintenance windows).
package entity

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Query asks the open workflow id for query and decodes the answer into
// into; found is false when no such workflow runs. A closed one (an
// operator terminated it) is rejected by the server at once rather than
// sent to a worker that may not exist: a page must not wait on it.
func Query(ctx context.Context, c client.Client, id, query string, into any) (found bool, err error) {
	resp, err := c.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: id, QueryType: query, QueryRejectCondition: enumspb.QUERY_REJECT_CONDITION_NOT_OPEN,
	})
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("query %s of %s: %w", query, id, err)
	case resp.QueryRejected != nil:
		return false, nil
	}
	if err := resp.QueryResult.Get(into); err != nil {
		return false, fmt.Errorf("decode %s of %s: %w", query, id, err)
	}
	return true, nil
}
