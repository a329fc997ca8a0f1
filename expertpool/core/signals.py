"""Named domain events, so one feature can react to another's decisions without importing it.

An operation sends its event after it has flushed the change; receivers run in the same
transaction (they add rows and flush, never commit), so a failing receiver fails the request and
nothing is kept. Each feature connects its receivers in its `init_app` (the front door), so the
sender never imports the receiver: a feature reacts to the features below it in the layer order
without them knowing it exists.

Every event passes `session` (the SQLAlchemy session of the change) as a keyword argument;
the sender is the changed object, or the session for events about many objects.

| event                  | sent by        | received by                                        |
|------------------------|----------------|----------------------------------------------------|
| user_registered        | accounts       | experts (opens an expert applicant's file)         |
| expert_vetted          | experts        | notifications                                      |
| change_decided         | experts        | notifications                                      |
| violation_decided      | experts        | notifications                                      |
| objection_answered     | experts        | notifications                                      |
| expert_files_changed   | experts        | matching (re-embeds and re-indexes those experts)  |
| certificate_issued     | courses        | notifications, matching (training-dependent data)  |
| certificate_revoked    | courses        | notifications, matching                            |
| submission_withdrawn   | submissions    | reviews (cancels the open invitations and reviews) |
| rows_inserted          | core.bulk      | experts (files changed), matching (pool stamps,    |
|                        |                | submissions' query vectors)                        |
| assessment_facts       | assessment     | any feature with facts of an expert's year (e.g.   |
|                        |                | violations): receivers return them                 |
"""

from __future__ import annotations

from blinker import Namespace

events = Namespace()

# sender: the new User; kwargs: session, institution (the name typed at registration, or None)
user_registered = events.signal("user-registered")
# sender: the session; kwargs: expert_ids (set of ids). Sent once per commit, just before it,
# when a flush in the transaction changed any part of these experts' technical files.
expert_files_changed = events.signal("expert-files-changed")
# sender: the session; kwargs: objects (new rows with their ids, written by `core.bulk` with Core
# INSERTs, which fire no flush events: receivers note them as their flush listeners would).
rows_inserted = events.signal("rows-inserted")
# sender: the Submission (status "withdrawn"); kwargs: session, actor, reason
submission_withdrawn = events.signal("submission-withdrawn")
# sender: the Expert; kwargs: session, actor, action ("approve" | "reject"), reason
expert_vetted = events.signal("expert-vetted")
# sender: the PendingChange (status "approved" or "rejected"); kwargs: session, actor
change_decided = events.signal("change-decided")
# sender: the Certificate; kwargs: session
certificate_issued = events.signal("certificate-issued")
# sender: the Certificate (revoked_reason set); kwargs: session, actor
certificate_revoked = events.signal("certificate-revoked")
# sender: the Violation (state "decided"); kwargs: session, actor
violation_decided = events.signal("violation-decided")
# sender: the Violation (objection_outcome set); kwargs: session, actor
objection_answered = events.signal("objection-answered")
# sender: the session; kwargs: year, expert_ids (list of ids), as_of (the day the facts are judged
# on). Sent by the annual assessment's fact gathering, once per batch of experts. A receiver
# returns {expert_id: {fact name: value}} with plain JSON values; a list under the same name from
# two receivers is joined. "violations" (a list of {"date", "kind", "note"}) is read by the
# suggestion rules; any other name is shown with the expert's facts as it is.
assessment_facts = events.signal("assessment-facts")
