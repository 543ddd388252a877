"""Where measurements live: evaluation runs (candidates, items, responses, scores), the response
cache, and load tests of serving endpoints.

```python
from llmpick.store import open_store

with open_store() as store:          # $LLMPICK_HOME/llmpick.sqlite
    for run in store.list_runs():
        print(run.id, run.spec_name, run.status)
```
"""

from __future__ import annotations

from llmpick.store._cache import CachedAnswer, CacheKeyer, cache_key
from llmpick.store._migrations import MIGRATIONS, apply_migrations
from llmpick.store._protocol import (
    CandidateRecord,
    CandidateStatus,
    ItemRecord,
    LoadTestRecord,
    ResponseRecord,
    ResultRecord,
    RunLease,
    RunRecord,
    RunStatus,
    ScoreRecord,
    Store,
)
from llmpick.store._sqlite import (
    SqliteStore,
    StoreBusyError,
    StoreError,
    default_db_path,
    open_store,
)

__all__ = [
    "MIGRATIONS",
    "CacheKeyer",
    "CachedAnswer",
    "CandidateRecord",
    "CandidateStatus",
    "ItemRecord",
    "LoadTestRecord",
    "ResponseRecord",
    "ResultRecord",
    "RunLease",
    "RunRecord",
    "RunStatus",
    "ScoreRecord",
    "SqliteStore",
    "Store",
    "StoreBusyError",
    "StoreError",
    "apply_migrations",
    "cache_key",
    "default_db_path",
    "open_store",
]
