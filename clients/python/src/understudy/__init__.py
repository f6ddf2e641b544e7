"""Python client of Understudy, the stateful, fault-injectable stand-ins for Identity,
Compute and Cloud Load Balancers, with pytest fixtures (the ``understudy`` plugin).

    from understudy import Understudy

    us = Understudy("http://localhost:5000")
    with us.faults.injected(service="compute", match={"method": "POST", "path": "/**/servers"},
                            action={"type": "error", "status": 500}, budget={"times": 1}) as rule:
        ...
    us.clock.tick(60)
    us.journal(service="compute", method="POST")
"""

from ._http import Response, UnderstudyError, format_time, parse_time
from .client import (
    Behavior,
    Clock,
    ClockReading,
    Counters,
    ExternalApi,
    FaultRule,
    Faults,
    IdentityControls,
    JournalEntry,
    Nova,
    Understudy,
)
from .stack import LocalStack, StackError, find_binary
from .tenant import Tenant

__version__ = "0.1.0"

__all__ = [
    "Behavior",
    "Clock",
    "ClockReading",
    "Counters",
    "ExternalApi",
    "FaultRule",
    "Faults",
    "IdentityControls",
    "JournalEntry",
    "LocalStack",
    "Nova",
    "Response",
    "StackError",
    "Tenant",
    "Understudy",
    "UnderstudyError",
    "__version__",
    "find_binary",
    "format_time",
    "parse_time",
]
