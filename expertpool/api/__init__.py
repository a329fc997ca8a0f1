"""Read-only JSON API for administrators."""
