"""Submissions to review: RM certification applications and technical-assistance requests."""
