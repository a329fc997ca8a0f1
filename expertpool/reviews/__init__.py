"""The review workflow: panels, invitations, reviews, reminders and the inbox."""
