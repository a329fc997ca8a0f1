"""Named domain events, so one feature can react to another's decisions without importing it.

An operation sends its event after it has flushed the change; receivers run in the same
transaction (they add rows and flush, never commit). Receivers are connected in one place,
`expertpool.notifications.handlers.connect()`, called by the app factory.

Every event passes `session` (the SQLAlchemy session of the change) as a keyword argument;
the sender is the changed object.
"""

from __future__ import annotations

from blinker import Namespace

events = Namespace()

# sender: the Expert; kwargs: session, actor, action ("approve" | "reject"), reason
expert_vetted = events.signal("expert-vetted")
# sender: the PendingChange (status "approved" or "rejected"); kwargs: session, actor
change_decided = events.signal("change-decided")
# sender: the Certificate; kwargs: session
certificate_issued = events.signal("certificate-issued")
# sender: the Certificate (revoked_reason set); kwargs: session, actor
certificate_revoked = events.signal("certificate-revoked")
