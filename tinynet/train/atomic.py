from ..atomic import *  # noqa: F401,F403  (TEMPORARY: removed before commit)
from ..atomic import atomic_write  # noqa: F401
