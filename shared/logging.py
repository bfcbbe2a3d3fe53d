"""structlog JSON logging for every service: one JSON object a line, with the service name and the
correlation and causation ids bound per worker (``structlog.contextvars``).

Personal data never reaches a log: keys that hold it are masked and any string that looks like a
mainland resident ID number or mobile number is masked wherever it appears."""
import logging
import re
import sys

import structlog

PERSONAL_KEYS = frozenset({"id_number", "phone", "mobile", "address", "contact_phone", "id_card"})
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
MASK = "***"


def _scrub_value(value):
    if isinstance(value, str):
        return _MOBILE.sub(MASK, _ID_NUMBER.sub(MASK, value))
    if isinstance(value, dict):
        return {k: (MASK if k in PERSONAL_KEYS else _scrub_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_value(v) for v in value]
    return value


def scrub_personal_data(_logger, _method, event_dict):
    return {k: (MASK if k in PERSONAL_KEYS else _scrub_value(v)) for k, v in event_dict.items()}


_configured = None


def configure(service, level=logging.INFO, stream=None):
    """Route structlog and stdlib logging (nameko, kombu) to JSON lines on ``stream``."""
    global _configured
    if _configured == service:
        return
    _configured = service
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        lambda _l, _m, ed: {**ed, "service": service},
    ]
    structlog.configure(
        processors=shared_processors + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "amqp", "nameko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name=None):
    return structlog.get_logger(name)


def bind(**ids):
    """Bind correlation/causation ids (or any ids) for the current green thread."""
    structlog.contextvars.bind_contextvars(**ids)


def clear():
    structlog.contextvars.clear_contextvars()
