"""``abtest``: one operator command for a deployed A/B endpoint (``python -m scripts.abtest --help``).

Wraps what would otherwise be long ``aws …`` incantations: ``status`` (live and declared weights,
their drift, the observed split, alarms, the SRM p-value, a running rollout), ``weights set`` and
``weights record``, ``rollout start|status|stop`` and ``evaluate``. Every command finds the
stack ``AbTest-<endpoint>`` by name and reads what it needs from the stack's outputs.

Layers: :mod:`scripts.abtest.aws` makes the AWS calls (clients injected), the pure modules
(:mod:`~scripts.abtest.weights`, :mod:`~scripts.abtest.progress`, :mod:`~scripts.abtest.waiting`)
decide, :mod:`~scripts.abtest.render` draws, and :mod:`scripts.abtest.cli` wires them to Typer.
"""

import sys
from pathlib import Path

# The command reuses the Lambdas' pure modules (weight validation, the rollout plan, the
# evaluation request) so a request is judged here exactly as the function will judge it.
# They are importable as the Lambda runtime imports them: from the asset root, lambdas/.
_LAMBDAS = str(Path(__file__).resolve().parent.parent.parent / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.append(_LAMBDAS)
