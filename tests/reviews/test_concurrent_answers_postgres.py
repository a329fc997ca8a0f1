"""The answers of tests/reviews/test_concurrent_answers.py on PostgreSQL (see
tests/test_concurrent_saves_postgres.py: imported tests, run with the PostgreSQL `app`).
"""

from __future__ import annotations

import pytest

from tests import test_postgres
from tests.reviews.test_concurrent_answers import (  # noqa: F401  (collected here)
    test_an_acceptance_leaves_an_open_edit_form_of_the_submission_valid,
    test_the_last_two_reviews_submitted_at_once_complete_the_submission,
    test_two_acceptances_at_once_are_both_kept,
    test_two_experts_accepting_through_the_web_at_once,
)

pytestmark = pytest.mark.postgres
pg_server, pg_database_url = test_postgres.pg_server, test_postgres.pg_database_url
schema_url, app = test_postgres.schema_url, test_postgres.app
