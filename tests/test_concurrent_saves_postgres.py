"""The races of tests/test_concurrent_saves.py and test_unique_saves.py on PostgreSQL (row locks, not SQLite's one lock).

The test functions are imported, so pytest runs them here with this module's `app`: the
PostgreSQL one of tests/test_postgres.py. Without a server (tests/pg.py) they skip.
"""

from __future__ import annotations

import pytest

from tests import test_postgres
from tests.test_concurrent_saves import (  # noqa: F401  (collected here, on PostgreSQL)
    test_registration_race_on_one_email_gives_one_account,
    test_registration_race_on_one_username_gives_one_account,
    test_two_admins_saving_one_expert_at_once_one_gets_a_409,
)
from tests.test_unique_saves import (  # noqa: F401
    test_two_courses_with_one_short_name_at_once_one_is_refused,
    test_two_experts_from_one_new_institution_at_once_are_both_saved,
)

pytestmark = pytest.mark.postgres
pg_server, pg_database_url = test_postgres.pg_server, test_postgres.pg_database_url
schema_url, app = test_postgres.schema_url, test_postgres.app
