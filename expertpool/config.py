"""Configuration: defaults, then `instance/config.py`, then environment variables.

Every setting can be given as an environment variable of the same name; the README lists them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: sqlite:///<instance>/expertpool.db
    "SECRET_KEY": None,  # default: generated once and kept in instance/secret_key
    # Keys of the personal data encrypted at rest (expertpool/core/pii.py): PII_KEYS (Fernet keys,
    # newest first, comma-separated) with PII_INDEX_KEY (hex), or the key file PII_KEY_FILE
    # (default: instance/pii_keys, created by `flask keys init` or, outside production, on first
    # use). Kept and backed up apart from the database.
    "PII_KEYS": None,
    "PII_INDEX_KEY": None,
    "PII_KEY_FILE": None,
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,  # uploads: 50 MiB
    "UPLOAD_FOLDER": None,  # default: <instance>/uploads
    # Import files (XLSX/CSV) are checked before they are expanded (core/sheetlimits.py): rows
    # and columns of a sheet, characters in a cell (Excel's own limit), what an XLSX unpacks
    # to and how many parts it has, the length of a CSV line.
    "IMPORT_MAX_ROWS": 50_000,
    "IMPORT_MAX_COLUMNS": 200,
    "IMPORT_MAX_CELL_CHARS": 32_767,
    "IMPORT_MAX_UNPACKED_MB": 100,
    "IMPORT_MAX_ZIP_MEMBERS": 1_000,
    "IMPORT_MAX_LINE_CHARS": 1_000_000,
    "SESSION_COOKIE_SECURE": False,  # set true behind HTTPS
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    # Sign-in and sessions (MLPS 2.0 level 3, identification and authentication; README
    # "Configuration"). Per client address (Flask-Limiter), shared by every worker and host:
    # RATELIMIT_STORAGE_URI when given, else Redis at REDIS_URL, else the database
    # (expertpool/core/ratelimit.py); never memory:// per process unless set explicitly.
    "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",
    "REGISTER_RATE_LIMIT": "5 per minute;20 per hour",
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": None,
    # Per account (expertpool/accounts/lockout.py), in the database: LOGIN_MAX_FAILURES failed
    # sign-ins within LOGIN_FAILURE_WINDOW_MINUTES lock the account for LOGIN_LOCK_MINUTES,
    # doubling with each further lock up to LOGIN_LOCK_MAX_MINUTES; a success resets it.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_FAILURE_WINDOW_MINUTES": 15,
    "LOGIN_LOCK_MINUTES": 15,
    "LOGIN_LOCK_MAX_MINUTES": 24 * 60,
    # Server-side sessions (expertpool/accounts/sessions.py): a session ends after
    # SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after sign-in, whatever the
    # cookie says; its last-seen time is written at most every SESSION_TOUCH_SECONDS.
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    "SESSION_TOUCH_SECONDS": 60,
    "LOGIN_HISTORY_DAYS": 180,  # sign-in records and ended sessions are kept this long
    "LOGIN_HISTORY_PRUNE_CRON": "40 3 * * *",
    # Passwords (expertpool/accounts/passwords.py): length, character classes of the four
    # (lower case, upper case, digits, others), zxcvbn strength score 0-4 (offline lists of
    # common passwords, words and patterns; 0 turns the check off).
    "PASSWORD_MIN_LENGTH": 10,
    "PASSWORD_MIN_CLASSES": 3,
    "PASSWORD_MIN_SCORE": 3,
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ["zh_CN", "en"],
    "PER_PAGE": 25,
    "TERM_YEARS": 5,
    "TERM_WARNING_DAYS": 60,
    "STALE_FILE_YEARS": 2,
    "COVERAGE_MIN_PER_CATEGORY": 10,
    "EMBEDDING_MODEL": "multilingual-e5-small",
    "EMBEDDING_FAIRNESS": True,  # normalise scores so a document's language doesn't decide rank
    "SEARCH_INDEX_DIR": None,  # default: <instance>/search
    "SEARCH_LOCK_TIMEOUT": 10.0,  # seconds a writer waits for another's index lock
    # Every app host keeps its own keyword indexes and follows the database's change log
    # (expertpool/core/search/changes.py): a search checks it at most every SEARCH_SYNC_SECONDS
    # per process, waits at most SEARCH_SYNC_WAIT for another process applying it, and the log
    # is kept SEARCH_CHANGES_KEEP_DAYS (a host further behind rebuilds its index).
    "SEARCH_SYNC_SECONDS": 0.5,
    "SEARCH_SYNC_WAIT": 2.0,
    "SEARCH_CHANGES_KEEP_DAYS": 7,
    # Hybrid retrieval (expertpool/core/search/hybrid.py `HybridConfig`), chosen with
    # bench/search_quality.py on the course-material evaluation set (51 queries): normalised
    # score fusion weighted towards meaning had the best nDCG@10 (0.72-0.73, against 0.54 for
    # keywords alone, 0.72 for meaning alone, 0.64 for RRF k=60 1:1). Requiring every word on
    # the keyword side cost nothing measurable and stops partial word matches (one common word
    # of an off-topic question) from filling the page; "words only" searches still relax.
    "SEARCH_FUSION": "score",  # "score" (weighted normalised scores) or "rrf" (rank fusion)
    "SEARCH_RRF_K": 60,  # RRF only: larger gives the top ranks less advantage
    "SEARCH_KEYWORD_WEIGHT": 0.3,  # weight of the keyword (BM25F) list in the fusion
    "SEARCH_SEMANTIC_WEIGHT": 0.7,  # weight of the semantic (embedding) list in the fusion
    "SEARCH_NORMALIZATION": "minmax",  # score fusion: "minmax" or "zscore" per list
    "SEARCH_CANDIDATES": 100,  # hits taken from each list before fusion
    "SEARCH_SEMANTIC_MIN_SCORE": None,  # a semantic hit scoring below this is no match
    "SEARCH_KEYWORD_MATCH": "all",  # "all" words, "any", or "auto" (all, else any)
    "SEARCH_SNIPPET_CHARS": 160,  # length of a result's snippet
    # Course-material search: semantic hits count only if the best one scores at least this
    # (multilingual-e5-small's language-fair cosine; None for other models). Off-topic
    # questions topped out at 0.859, the evaluation queries started at 0.870.
    "COURSES_SEARCH_MIN_BEST_SCORE": 0.865,
    # The gate moved by the question's language: English questions score lower against the
    # mostly Chinese material (median best score 0.880 against 0.911 for Chinese questions of
    # bench/data/search_eval_{a,b}.toml), so at 0.865 a third of the English practitioner
    # questions found nothing. -0.031 is that difference of medians; English off-topic
    # questions still top out at 0.824 (issue 13, BENCHMARKS.md).
    "COURSES_SEARCH_GATE_OFFSET": {"en": -0.031},
    # How a course's passages make its place on the results page: "max" (its best passage),
    # "top2" (the mean of its two best, a missing second counting 0) or "lme" (a soft maximum
    # over all of them); courses/search/ranking.py. top2 and lme gained a little on the tuning
    # questions but nothing on the held-out ones (BENCHMARKS.md, issue 13), so "max" stays.
    "COURSES_SEARCH_ROLLUP": "max",
    "TRAINING_WITHIN_TERM": False,  # required training must also fall within the current term
    # Re-certification (courses/validity.py): a certificate of a course with a validity period is
    # "expiring" this many days before its expiry date (renewal opens, it is flagged to the
    # learner, the expert and the administrators) ...
    "TRAINING_EXPIRING_DAYS": 60,
    # ... and its holder and the administrators are reminded at these days before expiry, once
    # per threshold, by the job on TRAINING_REMINDER_CRON (blank: no reminders).
    "TRAINING_REMINDER_DAYS": "60,30,7",
    "TRAINING_REMINDER_CRON": "30 8 * * *",
    "COURSES_QUIZ_GRACE_SECONDS": 30,  # answers this late after a quiz's time limit still count
    "PUBLIC_BASE_URL": None,  # e.g. https://rm.example.gov.cn: used in certificate QR codes
    # A production server: refuses to start with unsafe settings (`check_config` lists them),
    # among them a missing absolute http(s) PUBLIC_BASE_URL (a certificate's QR code must never
    # point at whatever host a request happened to name).
    "PRODUCTION": False,
    # Background jobs (expertpool/core/jobs): "database" (workers poll the job table; no other
    # server) or "rq" (Redis at REDIS_URL wakes RQ workers). JOBS_EAGER runs each job in-process
    # right after the commit that added it (tests, scripts).
    "JOBS_BACKEND": "database",
    "JOBS_EAGER": False,
    "JOBS_POLL_SECONDS": 0.5,  # how often an idle database-backend worker looks for work
    "JOBS_LEASE_SECONDS": 60,  # a job whose worker has not renewed this long is run again
    "JOBS_RETRY_BASE_SECONDS": 2,  # back-off after a failure: 2, 4, 8, ... seconds
    "JOBS_RETRY_MAX_SECONDS": 300,
    # A job worker lowers its CPU priority by this much (os.nice; 0 keeps it): derived work
    # (embedding a publication, re-indexing) waits for the cores while a person's request needs
    # them, instead of adding to its time (issue 11's load bench, BENCHMARKS.md).
    "JOBS_NICE": 10,
    "REDIS_URL": None,  # e.g. redis://127.0.0.1:6379/0 (JOBS_BACKEND=rq)
    # Periodic jobs (expertpool/core/jobs/schedule.py), cron expressions in BABEL_DEFAULT_TIMEZONE;
    # empty turns one off.
    "REVIEW_REMINDER_CRON": "0 8 * * *",  # reminders of invitations and reviews due
    "JOBS_PRUNE_CRON": "30 3 * * *",  # forget finished jobs older than JOBS_KEEP_DAYS
    "JOBS_KEEP_DAYS": 30,
    # The audit log (core/audit_chain.py): a hash chain sealed at each commit; AUDIT_HMAC_KEY (a
    # secret kept outside the database, e.g. in the environment) makes the seals HMACs, so a
    # database writer cannot recompute them; keys used before go in AUDIT_HMAC_OLD_KEYS (a list).
    # Rows written outside a commit are sealed by AUDIT_SEAL_CRON; AUDIT_VERIFY_CRON walks the
    # chain and keeps the result for the security auditor. Audit rows are never deleted by the
    # application; AUDIT_RETENTION_DAYS is the least they are kept (production refuses < 180).
    "AUDIT_HMAC_KEY": None,
    "AUDIT_HMAC_OLD_KEYS": [],
    "AUDIT_SEAL_ON_COMMIT": True,
    "AUDIT_SEAL_MAX_ON_COMMIT": 2000,  # more rows in one commit: the rest by an audit.seal job
    "AUDIT_SEAL_CRON": "17 * * * *",
    "AUDIT_VERIFY_CRON": "40 2 * * *",
    "AUDIT_RETENTION_DAYS": 180,
    # Long work a page starts (README, "Background jobs"): an import's commit of more rows than
    # this runs as a job (0: always); so does an export of more rows than EXPORT_JOB_THRESHOLD,
    # written into EXPORT_FOLDER for the person who asked and kept EXPORT_KEEP_HOURS.
    "IMPORT_JOB_THRESHOLD": 200,
    "EXPORT_JOB_THRESHOLD": 2000,
    "EXPORT_FOLDER": None,  # default: <instance>/exports
    "EXPORT_KEEP_HOURS": 24,
    "EXPORTS_CLEANUP_CRON": "10 * * * *",  # delete exports older than EXPORT_KEEP_HOURS
    # Serving (gunicorn.conf.py, deploy/). APP_HOSTS: app hosts sharing the database;
    # WEB_CONCURRENCY: web worker processes per host (gunicorn.conf.py sets it from its sizing).
    "APP_HOSTS": 1,
    "WEB_CONCURRENCY": 1,
    # Clients reach the app through a reverse proxy (nginx); production then needs
    # TRUSTED_PROXIES, the number of proxies in front whose X-Forwarded-* headers are believed.
    "BEHIND_PROXY": True,
    "TRUSTED_PROXIES": 0,
    # Request logs: one JSON line per request on stderr. A client's X-Request-ID is kept only
    # when TRUST_REQUEST_ID is on (the proxy sets it); otherwise each request gets a new id.
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",  # "json" or "text"
    "TRUST_REQUEST_ID": False,
    # Annual assessment of experts (年度考核, expertpool/assessment). The regulation names the
    # assessment but not its scale, so the grades are a setting (in instance/config.py: Python
    # values): (stored Chinese name, English label, the 1-5 rating the technical file shows),
    # best first. The rules only suggest a grade (the administrator decides, with a reason); their
    # thresholds are `SuggestionRules` fields. A consequence (suspend | retire | remove) is
    # proposed for a second administrator's approval when the round closes, never applied.
    "ASSESSMENT_GRADES": (
        ("优秀", "Excellent", 5),
        ("合格", "Satisfactory", 4),
        ("基本合格", "Basically satisfactory", 3),
        ("不合格", "Unsatisfactory", 1),
    ),
    "ASSESSMENT_RULES": {
        "unsatisfactory_late_share": 0.5,  # half the reviews late or overdue
        "basic_late_share": 0.2,
        "unsatisfactory_rating": 2.0,  # average review-quality rating below this
        "basic_rating": 3.0,
        "excellent_rating": 4.5,
        "excellent_min_reviews": 3,
        "unsatisfactory_violations": 1,  # facts contributed under "violations"
        "basic_declines": 5,
    },
    "ASSESSMENT_CONSEQUENCES": {"不合格": "suspend"},
    # A technical file changed within this many months (before the round's day) is up to date.
    "ASSESSMENT_FILE_FRESH_MONTHS": 12,
    "REVIEW_DUE_DAYS": 30,  # due date of a review when the administrator gives none
    "REVIEW_REPLACEMENT_MIN_DAYS": 14,  # least time an alternate invited late gets
    "REVIEW_INVITE_REMINDER_DAYS": 3,  # remind experts of invitations unanswered this long
    "REVIEW_DUE_REMINDER_DAYS": 7,  # remind experts of reviews due within this many days
    # Violations (违规处理): days after a decision during which the expert may object (申诉),
    # and the largest evidence file kept (the upload limit above is for submissions' dossiers).
    "VIOLATION_OBJECTION_DAYS": 15,
    "VIOLATION_EVIDENCE_MAX_BYTES": 10 * 1024 * 1024,
    # Review-quality supervision (reviews/supervision.py): an expert stands out when a figure
    # passes its limit or its robust z-score (median/MAD among the experts shown) reaches
    # SUPERVISION_Z; few reviews say little, so experts need SUPERVISION_MIN_REVIEWS to be shown.
    "SUPERVISION_MIN_REVIEWS": 3,
    "SUPERVISION_LATE_SHARE": 0.5,  # share of reviews submitted after the due date
    "SUPERVISION_LOW_RATING": 2.5,  # mean quality rating (1-5) at or below
    "SUPERVISION_SHORT_RATIO": 0.5,  # median length relative to peers on the same submission
    "SUPERVISION_AGAINST_SHARE": 0.5,  # share of recommendations against the panel's majority
    "SUPERVISION_Z": 3.5,  # robust z-score limit (Iglewicz & Hoaglin)
    # Spot checks: a second rating this far from the first (or in another band) disagrees.
    "SPOT_CHECK_GAP": 2,
    # Matching rules (DOMAIN.md defaults; see expertpool/core/assignment/records.py `Rules`).
    "MATCH_YEARS_SINCE_EMPLOYMENT": 3,  # recusal after leaving the applicant, in years
    "MATCH_LOAD_CAP_PER_YEAR": 10,  # reviews per expert per calendar year
    "MATCH_LOAD_CAP_PER_ROUND": None,  # reviews per expert in one round (None: only the yearly cap)
    "MATCH_REQUIRE_TRAINING": False,  # only experts holding the required training
    # With MATCH_REQUIRE_TRAINING, an expert whose required certificate lapsed (held, now past its
    # validity) is excluded as "training_lapsed"; False keeps them eligible while they renew.
    "MATCH_TRAINING_LAPSED_BLOCKS": True,
    "MATCH_REQUIRE_CATEGORY": False,  # only experts registered for the submission's category
    "MATCH_PANEL_SIZE": 3,  # 3-7
    "MATCH_MIN_METROLOGY": 1,  # members with metrology/statistics competence
    "MATCH_MAX_PER_PROVINCE": 2,  # panel members from one province (None: no cap)
    "MATCH_ONE_PER_INSTITUTION": True,  # no two members from one institution
    # An expert with a violation under investigation is kept off panels until it is closed
    # (shown among the excluded with its reason); False lets the office still pick them.
    "MATCH_EXCLUDE_UNDER_INVESTIGATION": True,
    # Co-authored a paper with a person the applicant names within this many years before the
    # review (None: rule off). Names compared by core/assignment/names.py; docs/design/coauthor.md
    "MATCH_COAUTHOR_YEARS": 5,
    # An expert whose e-mail domain is an applicant contact's institutional domain is recused.
    "MATCH_EMAIL_DOMAIN_RECUSAL": True,
    # Free-mail providers (qq.com, 163.com, gmail.com...) are ignored by that rule: anyone holds
    # such an address. Set MATCH_FREE_MAIL_DOMAINS (a list) to replace the built-in list,
    # FREE_MAIL_DOMAINS in core/assignment/records.py; unset, that list applies.
    # Affinity (expertpool/matching/scoring.py; chosen by bench/match_quality.py, BENCHMARKS.md)
    "MATCH_AGGREGATION": "softmax",  # per-expert text scores: max | mean_top_k | softmax
    "MATCH_TOP_K": 2,
    "MATCH_TEMPERATURE": 0.05,  # softmax aggregation only
    "MATCH_SEMANTIC_MINMAX": True,  # rescale semantic scores over the pool before fusing
    "MATCH_WEIGHT_SEMANTIC": 0.6,
    "MATCH_WEIGHT_KEYWORD": 0.1,
    "MATCH_WEIGHT_CATEGORY": 0.2,
    "MATCH_WEIGHT_SPECIALTY": 0.1,
    "MATCH_KEYWORD_PAIRS": 32,
    # The keyword query reads the submission's description too: chosen leave-one-set-out over
    # the hand-made set and two outside sets (docs/design/evalsets.md, BENCHMARKS.md issue 13)
    "MATCH_KEYWORD_DESCRIPTION": True,
    "WARM_UP": False,  # load the model and matching data at server start (`make run` sets it)  # keyword score: the rarest (field, word) pairs of a submission
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "SMTP_SENDER": "noreply@example.org",
}

_BOOL_TRUE = {"1", "true", "yes", "on"}


def _coerce(default: Any, raw: str) -> Any:
    """Turn an environment string into the type of the default."""
    if isinstance(default, bool):
        return raw.strip().lower() in _BOOL_TRUE
    if isinstance(default, int):
        return int(raw)
    if default is None:  # optional number or text: "none"/"" means unset
        value = raw.strip()
        if value.lower() in ("", "none", "null"):
            return None
        return int(value) if value.lstrip("-").isdigit() else value
    if isinstance(default, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, the instance config file, environment variables and test overrides."""
    config = dict(DEFAULTS)
    config_file = instance_path / "config.py"
    if config_file.exists():
        namespace: dict[str, Any] = {}
        exec(compile(config_file.read_text("utf-8"), str(config_file), "exec"), namespace)
        config.update({k: v for k, v in namespace.items() if k.isupper()})
    for key, default in DEFAULTS.items():
        if key in os.environ:
            config[key] = _coerce(default, os.environ[key])
    config.update(overrides or {})
    _fill_derived(config, instance_path)
    return config


class ConfigError(RuntimeError):
    """A setting that makes the app refuse to start; the message names the setting."""


MIN_SECRET_KEY_LENGTH = 32
MIN_AUDIT_RETENTION_DAYS = 180  # MLPS 2.0 level 3, 网络安全法 art. 21: logs kept >= 6 months


def check_config(config: dict[str, Any]) -> None:
    """Refuse settings a production server must not run with, naming every problem at once."""
    if not config.get("PRODUCTION"):
        return
    problems = production_problems(config)
    if problems:
        raise ConfigError(
            "PRODUCTION is on, and the server refuses to start with these settings:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


def production_problems(config: dict[str, Any]) -> list[str]:
    """What makes `config` unsafe for production, one sentence per problem (empty: safe)."""
    problems = []
    base = config.get("PUBLIC_BASE_URL")
    if not is_absolute_http_url(base):
        problems.append(
            "PUBLIC_BASE_URL must be set to the public address of the site as an absolute "
            "http(s) URL (e.g. https://rm.example.gov.cn); it is printed in certificate QR "
            f"codes. Got: {base!r}."
        )
    if config.get("SECRET_KEY_GENERATED"):
        problems.append(
            "SECRET_KEY must be given explicitly (environment or instance/config.py): a key "
            "generated into instance/secret_key differs from host to host and is lost with the "
            "instance folder, signing everyone out."
        )
    elif len(str(config.get("SECRET_KEY") or "")) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)."
        )
    if not config.get("PII_KEYS") and not Path(str(config.get("PII_KEY_FILE"))).exists():
        problems.append(
            "The personal-data keys must exist before the server starts: set PII_KEYS and "
            "PII_INDEX_KEY, or create the key file PII_KEY_FILE with `flask keys init` (and back "
            "it up apart from the database); production never makes up a key."
        )
    elif config.get("PII_KEYS") and not config.get("PII_INDEX_KEY"):
        problems.append("PII_INDEX_KEY (64 hex characters) must be given beside PII_KEYS.")
    if config.get("DEBUG"):
        problems.append(
            "DEBUG (FLASK_DEBUG) must be off: the debugger runs any code a visitor sends."
        )
    hosts = _count(config.get("APP_HOSTS"))
    if hosts > 1 and str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        problems.append(
            f"APP_HOSTS is {hosts} but DATABASE_URL is SQLite, a file on one host: several app "
            "hosts need one PostgreSQL server (DATABASE_URL=postgresql://...)."
        )
    processes = hosts * _count(config.get("WEB_CONCURRENCY"))
    if processes > 1 and str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        problems.append(
            f"RATELIMIT_STORAGE_URI is memory:// with {processes} web processes "
            "(APP_HOSTS x WEB_CONCURRENCY): each would count sign-in attempts on its own, "
            "multiplying the limit; use a shared store (redis://...)."
        )
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append(
            "SESSION_COOKIE_SECURE must be on: the site is served over HTTPS and the session "
            "cookie must never travel over plain HTTP."
        )
    if config.get("BEHIND_PROXY") and _count(config.get("TRUSTED_PROXIES"), default=0) < 1:
        problems.append(
            "TRUSTED_PROXIES must give the number of reverse proxies in front of the app "
            "(1 for the nginx of deploy/), or client addresses (rate limits, logs) and the "
            "https scheme are wrong; set BEHIND_PROXY=false only if clients connect directly."
        )
    retention = _count(config.get("AUDIT_RETENTION_DAYS"), default=0)
    if retention < MIN_AUDIT_RETENTION_DAYS:
        problems.append(
            f"AUDIT_RETENTION_DAYS must be at least {MIN_AUDIT_RETENTION_DAYS} (six months of "
            f"audit records, MLPS 2.0 level 3); got {config.get('AUDIT_RETENTION_DAYS')!r}."
        )
    return problems


def _count(value: Any, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def is_absolute_http_url(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _fill_derived(config: dict[str, Any], instance_path: Path) -> None:
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'expertpool.db'}"
    config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(config["DATABASE_URL"])
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    config["UPLOAD_FOLDER"] = config["UPLOAD_FOLDER"] or str(instance_path / "uploads")
    config["SEARCH_INDEX_DIR"] = config["SEARCH_INDEX_DIR"] or str(instance_path / "search")
    config["EXPORT_FOLDER"] = config["EXPORT_FOLDER"] or str(instance_path / "exports")
    config["RATELIMIT_STORAGE_URI"] = rate_limit_storage(config)
    config["PII_KEY_FILE"] = config["PII_KEY_FILE"] or str(instance_path / "pii_keys")
    config["SECRET_KEY_GENERATED"] = not config["SECRET_KEY"]
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = instance_secret_key(instance_path)


DATABASE_RATE_LIMITS = "expertpool+db://"


def rate_limit_storage(config: dict[str, Any]) -> str:
    """Where rate-limit counters live: as given, else Redis at REDIS_URL, else the database.

    Every choice but an explicit `memory://` is shared by all workers and hosts, so a limit of
    10 sign-ins is 10 for the site, not 10 per process.
    """
    if config.get("RATELIMIT_STORAGE_URI"):
        return str(config["RATELIMIT_STORAGE_URI"])
    redis = config.get("REDIS_URL")
    if redis:
        return (
            "redis+unix://" + redis.removeprefix("unix://")
            if redis.startswith("unix://")
            else redis
        )
    return DATABASE_RATE_LIMITS


def _normalise_db_url(url: str) -> str:
    """Accept the common `postgres://` / `postgresql://` forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance_path: Path) -> str:
    """Read the instance's secret key, creating a random one (mode 0600) on first use."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text("ascii").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
