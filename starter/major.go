package starter

import (
	"context"
	"net/http"

	"github.com/incidentflow/incidentflow/workflows"
)

// declareMajor is POST /v1/incidents/{id}/major, body {"reason"?, "by"?}:
// the major-incident protocol starts now. It is the major Update, whose
// validator says why not (already major, resolved, an exercise: 409; a
// reason over its bound: 400), and it answers the incident.
func (s *Server) declareMajor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := &workflows.MajorRequest{}
	err = decodeCommand(r, req)
	if err = s.authorize(r, err, &req.By); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	st, err := s.incidents.Act(ctx, id, workflows.UpdateMajor, *req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
