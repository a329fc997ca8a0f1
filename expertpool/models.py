"""Imports every model so SQLAlchemy's metadata (and Alembic) sees the whole schema."""

from courses.models import *  # noqa: F403  (the training feature)

from .accounts.models import LoginEvent, LoginThrottle, User, UserRole, UserSession  # noqa: F401
from .assessment.models import AssessmentDraft, AssessmentRound  # noqa: F401
from .core.audit import AuditLog  # noqa: F401
from .core.embeddings.queries import QueryVector  # noqa: F401
from .core.embeddings.store import Embedding, IndexState  # noqa: F401
from .core.jobs.models import Job  # noqa: F401
from .core.ratelimit import RateLimitCounter  # noqa: F401
from .core.staging import StagedImport  # noqa: F401
from .experts.models import *  # noqa: F403
from .matching.models import PoolState, ReviewRound  # noqa: F401
from .notifications.models import Notification  # noqa: F401
from .reviews.models import *  # noqa: F403
from .submissions.models import *  # noqa: F403
