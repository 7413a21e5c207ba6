"""Everything that talks to a Petals swarm: DHT client, record parsing, crawler, local swarm launcher.

No Django here: functions return plain typed values (swarm.snapshot) that explorer/ persists and shows.
"""

import warnings as _warnings

# transformers 4.34 and torch 2.13 warn on every import about things our users cannot act on
_warnings.filterwarnings("ignore", message=r".*_register_pytree_node.*", category=FutureWarning)
_warnings.filterwarnings("ignore", message=r".*copying from a non-meta parameter.*", category=UserWarning)
