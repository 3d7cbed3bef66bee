package resolvers

import (
	"errors"

	hg "github.com/healthgraph/healthgraph"
)

// namingOverlap puts the global ID of the patient's overlapping
// appointment into the message of a booking or move that would put the
// patient in two appointments at once, so the client can open it (as
// node(id:) or in the patient's appointments); any other error passes
// through. The appointment is the same patient's, whom the caller may see.
func namingOverlap(err error) error {
	var busy *hg.PatientBusyError
	if !errors.As(err, &busy) || busy.AppointmentID == nil {
		return err
	}
	named := *busy.Conflict
	named.Message += ": appointment " + hg.GlobalID("Appointment", *busy.AppointmentID)
	return &named
}
