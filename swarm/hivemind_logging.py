"""hivemind and petals log through the handlers our process already has, instead of adding a second one of theirs.

Importing petals puts hivemind's own handler on the root logger (`use_hivemind_log_handler("in_root_logger")`),
beside the one settings.LOGGING put there: where sys.stderr is wrapped (a Celery worker) both stay and every line was
written twice, in two formats. Once the root logger has a handler, that handler becomes hivemind's "default handler":
hivemind's loggers propagate to it, and petals putting the default handler on the root logger adds nothing. A process
whose root logger has no handler yet (a Petals server of the local swarm) keeps hivemind's logging as it is.
"""

from __future__ import annotations

import logging


def share_root_handler() -> bool:
    """Makes the root logger's first handler hivemind's default handler; False when the root logger has none."""
    from hivemind.utils import logging as hivemind_logging

    root = logging.getLogger()
    if not root.handlers:
        return False
    ours = root.handlers[0]
    if hivemind_logging._default_handler is ours:  # done already
        return True
    # "nowhere": hivemind's handler leaves the hivemind logger, whose records then propagate to the root logger
    hivemind_logging.use_hivemind_log_handler("nowhere")
    hivemind_logging._default_handler = ours  # what "in_root_logger" (petals' import) puts on the root logger
    return True
