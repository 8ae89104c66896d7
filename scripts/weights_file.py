"""The pipeline's weights file: per environment and endpoint, the weight of every variant.

``config/weights.json`` is what a pipeline deploys as the stacks' weight parameters::

    {"environments": {"prod": {"config": "config/default.json",
                               "endpoints": {"churn-ab": {"Variant1": 1, "Variant2": 1}}}}}

- ``environments``: one entry per deployment target (an account/region, reached with that
  environment's credentials). Its ``config`` is the app config that environment deploys (the file
  ``-c config=`` names), relative to the project root (the folder with ``cdk.json``, where the CDK
  CLI runs) unless absolute.
- ``endpoints``: endpoints of that config, each with the weight of **every** one of its variants.
  Endpoints of the config that the file leaves out are not deployed by :func:`deploy_command`.
- ``description`` (optional, top level): free text.

Every rule is checked against the environment's config (loaded with
:func:`constructs_lib.config.load_config`) before anything is deployed or written, and every problem
is reported at once, each naming the file, environment, endpoint and variant:
unknown environment, endpoint or variant; a weight that is not a number, negative, NaN or infinite;
an endpoint whose weights are all 0; a variant of the config that the file does not name.

**A variant missing from the file is an error**, not "keep the deployed value". ``cdk deploy``
passes ``UsePreviousValue`` for every existing parameter not named with ``--parameters``
(``--previous-parameters`` defaults to true:
https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-deploy.html), and a parameter that is new to
the stack takes its default (the config's ``initial_weight``). A missing variant would therefore
deploy a weight the file does not show, and the all-zero check could not be made before
deploying. Adding a variant to the config means adding its weight here in the same change.

Public API: :func:`load_weights_file` (one environment), :func:`load_every_environment`,
:func:`deploy_command` (the ``cdk deploy`` argv), :func:`record_weights` (rewrite one endpoint's
entry, e.g. with the live weights), :func:`parse_weight_assignments` (``Variant1=25,Variant2=75``),
:meth:`EnvironmentWeights.with_overrides`, :func:`format_weights_file`, :class:`WeightsFileError`.
Pure: no AWS, no subprocess.
"""

from __future__ import annotations

import copy
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from constructs_lib.config import AppConfig, ConfigError, EndpointSpec, load_config
from constructs_lib.config.loader import read_json_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WEIGHTS_FILE = ROOT / "config" / "weights.json"

# The CDK CLI pinned in package-lock.json. `--no-install`: fail when it is not installed instead of
# letting npx download whatever package is called `cdk` today.
CDK = ("npx", "--no-install", "cdk")

_TOP_KEYS = ("environments", "description")
_ENVIRONMENT_KEYS = ("config", "endpoints")


class WeightsFileError(ValueError):
    """The weights file (or an override of it) is invalid; ``problems`` holds one located message each.

    Raised before anything is deployed or written.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid weights for {source} ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class EndpointWeights:
    """The weight of every variant of one endpoint, in the config's variant order."""

    spec: EndpointSpec
    weights: Mapping[str, float]

    @property
    def endpoint(self) -> str:
        return self.spec.name

    @property
    def stack_name(self) -> str:
        return self.spec.stack_name

    @property
    def parameters(self) -> dict[str, float]:
        """Stack parameter name (``WeightVariant1``) → weight."""
        return {variant.weight_parameter_name: self.weights[variant.name] for variant in self.spec.variants}


@dataclass(frozen=True)
class EnvironmentWeights:
    """One environment of a weights file, validated against its config.

    ``source`` names the weights file, ``config_path`` the config as the file spells it (what
    ``-c config=`` gets), ``config`` the loaded config, ``endpoints`` the file's endpoints in file order.
    """

    source: str
    environment: str
    config_path: str
    config: AppConfig
    endpoints: tuple[EndpointWeights, ...]

    def endpoint(self, name: str) -> EndpointWeights:
        """The entry of endpoint ``name``; :class:`WeightsFileError` when the file does not list it."""
        for entry in self.endpoints:
            if entry.endpoint == name:
                return entry
        listed = ", ".join(e.endpoint for e in self.endpoints)
        raise WeightsFileError(
            self.source,
            [f'{self._where()} > endpoint "{name}": not in the file (it lists: {listed})'],
        )

    def only(self, name: str) -> EnvironmentWeights:
        """This environment narrowed to endpoint ``name`` (deploy one stack)."""
        return replace(self, endpoints=(self.endpoint(name),))

    def with_overrides(
        self, endpoint: str | None, overrides: Mapping[str, Any], *, source: str = "override"
    ) -> EnvironmentWeights:
        """The file's weights with ``overrides`` (variant → number, or its text, e.g. from ``--set``)
        laid over one endpoint's, validated by the file's rules (``source`` names them in messages).

        ``endpoint`` may be None when the environment lists exactly one endpoint. Variants not
        overridden keep the file's weight, so a partial override still names every variant.
        """
        if endpoint is None:
            if len(self.endpoints) != 1:
                listed = ", ".join(e.endpoint for e in self.endpoints)
                raise WeightsFileError(
                    source, [f"{source}: name the endpoint to override ({self._where()} lists: {listed})"]
                )
            endpoint = self.endpoints[0].endpoint
        entry = self.endpoint(endpoint)
        problems: list[str] = []
        where = f'{source}: environment "{self.environment}" > endpoint "{endpoint}"'
        parsed = _check_weights(
            where, entry.spec, {**entry.weights, **overrides}, self.config_path, problems, text_allowed=True
        )
        if parsed is None:
            raise WeightsFileError(source, problems)
        changed = EndpointWeights(entry.spec, parsed)
        return replace(self, endpoints=tuple(changed if e.endpoint == endpoint else e for e in self.endpoints))

    def _where(self) -> str:
        return f'{self.source}: environment "{self.environment}"'


# --- reading and validating ----------------------------------------------------------------------


def load_weights_file(path: str | Path, environment: str, *, project_root: Path = ROOT) -> EnvironmentWeights:
    """Read ``path`` and validate ``environment`` against the config it names.

    Other environments are checked for shape only (their configs are not loaded), so a broken
    staging entry does not block a prod deploy; :func:`load_every_environment` checks them all.
    """
    source = str(path)
    data = _read(path)
    return parse_environment(data, source, environment, project_root=project_root)


def load_every_environment(path: str | Path, *, project_root: Path = ROOT) -> dict[str, EnvironmentWeights]:
    """Every environment of ``path``, each validated against its config; all problems at once."""
    source = str(path)
    data = _read(path)
    environments = _environments(data, source)
    problems: list[str] = []
    loaded: dict[str, EnvironmentWeights] = {}
    for name in environments:
        try:
            loaded[name] = parse_environment(data, source, name, project_root=project_root)
        except WeightsFileError as err:
            problems.extend(err.problems)
    if problems:
        raise WeightsFileError(source, problems)
    return loaded


def parse_environment(data: Any, source: str, environment: str, *, project_root: Path = ROOT) -> EnvironmentWeights:
    """Validate ``environment`` of already-decoded weights-file ``data``; ``source`` names it."""
    environments = _environments(data, source)
    if environment not in environments:
        known = ", ".join(environments) or "none"
        raise WeightsFileError(source, [f'{source}: no environment "{environment}" (environments: {known})'])
    where = f'{source}: environment "{environment}"'
    raw = environments[environment]
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise WeightsFileError(source, [f"{where}: must be an object with config and endpoints (got {_describe(raw)})"])
    problems.extend(
        f'{where}: unknown key "{key}" (allowed: config, endpoints)' for key in raw if key not in _ENVIRONMENT_KEYS
    )
    problems.extend(f"{where} > {key}: required" for key in _ENVIRONMENT_KEYS if key not in raw)
    config_path = raw.get("config")
    config: AppConfig | None = None
    if "config" in raw:
        if not isinstance(config_path, str) or not config_path:
            problems.append(f"{where} > config: must be the path of a config file (got {_describe(config_path)})")
        else:
            try:
                config = load_config(_resolve(config_path, project_root))
            except ConfigError as err:
                problems.append(f"{where} > config: {config_path} is not a valid config:")
                problems.extend(f"  {p}" for p in err.problems)
    endpoints_raw = raw.get("endpoints")
    if "endpoints" in raw and (not isinstance(endpoints_raw, dict) or not endpoints_raw):
        problems.append(f"{where} > endpoints: must name at least one endpoint (got {_describe(endpoints_raw)})")
        endpoints_raw = None
    entries: list[EndpointWeights] = []
    if config is not None and isinstance(endpoints_raw, dict):
        assert isinstance(config_path, str)
        specs = {spec.name: spec for spec in config.endpoints}
        for name, weights_raw in endpoints_raw.items():
            endpoint_where = f'{where} > endpoint "{name}"'
            if name not in specs:
                problems.append(
                    f"{endpoint_where}: not an endpoint of {config_path} (its endpoints: {', '.join(specs)})"
                )
                continue
            parsed = _check_weights(endpoint_where, specs[name], weights_raw, config_path, problems)
            if parsed is not None:
                entries.append(EndpointWeights(specs[name], parsed))
    if problems:
        raise WeightsFileError(source, problems)
    assert config is not None and isinstance(config_path, str)
    return EnvironmentWeights(source, environment, config_path, config, tuple(entries))


def _check_weights(
    where: str,
    spec: EndpointSpec,
    raw: Any,
    config_path: str,
    problems: list[str],
    *,
    text_allowed: bool = False,
) -> dict[str, float] | None:
    """The weight of every variant of ``spec`` in config order, or None with ``problems`` added.

    ``text_allowed``: values may be the text of a number ("25", from a command line); in the file
    they must be JSON numbers.
    """
    if not isinstance(raw, Mapping) or not raw:
        problems.append(f"{where}: must be an object of variant name -> weight (got {_describe(raw)})")
        return None
    if spec.shadow_variant is not None:
        problems.append(
            f"{where}: endpoint {spec.name} has shadow variant {spec.shadow_variant.name}: its stack has no weight "
            'parameters (the single production variant takes all traffic; README "Shadow stage"); leave it out'
        )
        return None
    before = len(problems)
    variants = [v.name for v in spec.variants]
    weights: dict[str, float] = {}
    for name, value in raw.items():
        variant_where = f'{where} > variant "{name}"'
        if name not in variants:
            problems.append(
                f"{variant_where}: not a variant of endpoint {spec.name} in {config_path} "
                f"(its variants: {', '.join(variants)})"
            )
            continue
        weight = _weight(variant_where, value, problems, text_allowed=text_allowed)
        if weight is not None:
            weights[name] = weight
    for variant in spec.variants:
        if variant.name not in raw:
            problems.append(
                f'{where} > variant "{variant.name}": missing; name every variant of {config_path} '
                f"(cdk deploy would keep the weight it last deployed, which this file would not show; "
                f"its initial_weight there is {format_weight(variant.weight)})"
            )
    if len(problems) != before:
        return None
    if all(w == 0 for w in weights.values()):
        problems.append(f"{where}: all weights are 0; at least one variant must keep a weight above 0")
        return None
    return {name: weights[name] for name in variants}


def _weight(where: str, value: Any, problems: list[str], *, text_allowed: bool) -> float | None:
    """A finite weight >= 0, or None with a problem added. Booleans are not numbers."""
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and text_allowed:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None:
        problems.append(f"{where}: must be a number (got {_describe(value)})")
        return None
    if not math.isfinite(number):
        problems.append(f"{where}: must be a finite number (got {_describe(value)})")
        return None
    if number < 0:
        problems.append(f"{where}: must be >= 0 (got {_describe(value)})")
        return None
    return number


def _read(path: str | Path) -> Any:
    # Python's json accepts NaN and Infinity, which JSON does not; they reach _weight and are refused there.
    return read_json_file(path, WeightsFileError)


def _environments(data: Any, source: str) -> dict[str, Any]:
    """The file's ``environments`` object, after checking the top level's shape."""
    if not isinstance(data, dict):
        raise WeightsFileError(source, [f'{source}: must be an object with "environments" (got {_describe(data)})'])
    problems = [
        f'{source}: unknown key "{key}" (allowed: {", ".join(_TOP_KEYS)})' for key in data if key not in _TOP_KEYS
    ]
    environments = data.get("environments")
    if not isinstance(environments, dict) or not environments:
        problems.append(f"{source}: environments: must name at least one environment (got {_describe(environments)})")
    if "description" in data and not isinstance(data["description"], str):
        problems.append(f"{source}: description: must be a string (got {_describe(data['description'])})")
    if problems:
        raise WeightsFileError(source, problems)
    assert isinstance(environments, dict)
    return environments


def _resolve(config_path: str, project_root: Path) -> Path:
    path = Path(config_path)
    return path if path.is_absolute() else project_root / path


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value).replace("nan", "NaN").replace("inf", "Infinity")
    if isinstance(value, (dict, list)):
        return f"{type(value).__name__} {json.dumps(value)[:60]}"
    return json.dumps(value) if isinstance(value, str) else repr(value)


# --- command-line weights ------------------------------------------------------------------------


def parse_weight_assignments(texts: Iterable[str], *, source: str = "--set") -> dict[str, str]:
    """``["Variant1=25,Variant2=75"]`` or ``["Variant1=25", "Variant2=75"]`` → ``{"Variant1": "25", ...}``.

    Values stay text: :meth:`EnvironmentWeights.with_overrides` checks them with the file's rules.
    Refuses an item without ``=``, an empty name or value, and a variant named twice.
    """
    assignments: dict[str, str] = {}
    problems: list[str] = []
    for text in texts:
        for item in text.split(","):
            name, sep, value = (part.strip() for part in item.partition("="))
            if not sep or not name or not value:
                problems.append(f"{source}: {item.strip()!r} is not VARIANT=WEIGHT")
            elif name in assignments:
                problems.append(f'{source}: variant "{name}" is given twice')
            else:
                assignments[name] = value
    if problems:
        raise WeightsFileError(source, problems)
    return assignments


# --- the deploy command --------------------------------------------------------------------------


def format_weight(weight: float) -> str:
    """A weight as CloudFormation's ``Number`` parameter and the file take it: ``25``, ``0.5``,
    ``0.0000001`` (plain decimal notation, no exponent)."""
    if float(weight).is_integer():
        return str(int(weight))
    return format(Decimal(repr(float(weight))), "f")


def deploy_command(
    env_weights: EnvironmentWeights, *, extra_args: Sequence[str] = (), cdk: Sequence[str] = CDK
) -> list[str]:
    """The argv that deploys ``env_weights`` as stack parameters, to run in the project root.

    ``cdk deploy <every stack> -c config=<the environment's config> --require-approval never
    --no-notices --parameters <Stack>:<Param>=<weight> ... <extra_args>``: one ``--parameters`` per
    variant of every listed endpoint, so no weight is left to ``UsePreviousValue``.
    ``--require-approval never`` because a pipeline has no terminal to approve on (put the approval
    in the pipeline: a protected environment); ``--no-notices`` keeps the log to the deploy.
    ``extra_args`` (e.g. ``--role-arn``, ``--output``) go last, unchanged.
    """
    command = [*cdk, "deploy", *(e.stack_name for e in env_weights.endpoints)]
    command += ["-c", f"config={env_weights.config_path}", "--require-approval", "never", "--no-notices"]
    for entry in env_weights.endpoints:
        for parameter, weight in entry.parameters.items():
            command += ["--parameters", f"{entry.stack_name}:{parameter}={format_weight(weight)}"]
    return [*command, *extra_args]


# --- writing -------------------------------------------------------------------------------------


def record_weights(
    path: str | Path,
    environment: str,
    endpoint: str,
    weights: Mapping[str, float],
    *,
    project_root: Path = ROOT,
) -> EnvironmentWeights:
    """Set ``endpoint``'s weights in ``environment`` of the file at ``path`` (e.g. to the live weights).

    ``weights`` must name every variant of the endpoint in the environment's config; the file's rules
    apply. The whole environment is validated with the new entry before anything is written, and the
    file is replaced atomically (a temporary file in the same folder, then ``os.replace``), keeping its
    permissions. The file is written in :func:`format_weights_file`'s layout: for a file already in
    that layout (the committed one is, a test checks) only that endpoint's line changes. An endpoint the
    environment does not list yet is added at the end. Returns the environment as written.
    """
    text, written = _recorded(path, environment, endpoint, weights, project_root=project_root)
    _replace_atomically(Path(path), text)
    return written


def check_recording(
    path: str | Path,
    environment: str,
    endpoint: str,
    weights: Mapping[str, float],
    *,
    project_root: Path = ROOT,
) -> EnvironmentWeights:
    """What :func:`record_weights` would write, validated the same way, without writing anything:
    for a caller that must change something else first (the stack) and write the file only after."""
    return _recorded(path, environment, endpoint, weights, project_root=project_root)[1]


def _recorded(
    path: str | Path, environment: str, endpoint: str, weights: Mapping[str, float], *, project_root: Path
) -> tuple[str, EnvironmentWeights]:
    """The file's new text with ``endpoint``'s weights set, and the environment as it would be."""
    source = str(path)
    data = _read(path)
    updated = copy.deepcopy(data)
    entry = _environments(updated, source).get(environment)
    if not isinstance(entry, dict) or not isinstance(entry.get("endpoints"), dict):
        parse_environment(data, source, environment, project_root=project_root)  # words the refusal
        raise AssertionError("unreachable: parse_environment refuses an environment without endpoints")
    # The file as it would be, validated whole: the new entry by the file's rules (it may also repair
    # an entry that was invalid, e.g. lacking a variant the config just gained), the rest unchanged.
    entry["endpoints"][endpoint] = dict(weights)
    written = parse_environment(updated, source, environment, project_root=project_root)
    entry["endpoints"][endpoint] = {name: _json_number(w) for name, w in written.endpoint(endpoint).weights.items()}
    return format_weights_file(updated), written


def format_weights_file(data: Mapping[str, Any]) -> str:
    """The file's canonical layout: two-space indent, one line per endpoint with its weights, so a
    weight change is a one-line diff. Keys keep their order; whole numbers are written without ``.0``.
    Parts that do not have the file's shape are written as compact JSON, unchanged."""
    top = [
        f"  {json.dumps(key)}: {_environments_block(value) if key == 'environments' else _inline(value)}"
        for key, value in data.items()
    ]
    return "{\n" + ",\n".join(top) + "\n}\n"


def _environments_block(environments: Any) -> str:
    if not isinstance(environments, dict) or not environments:
        return _inline(environments)
    blocks: list[str] = []
    for name, environment in environments.items():
        if not isinstance(environment, dict) or not environment:
            blocks.append(f"    {json.dumps(name)}: {_inline(environment)}")
            continue
        fields = [
            f"      {json.dumps(key)}: {_endpoints_block(value) if key == 'endpoints' else _inline(value)}"
            for key, value in environment.items()
        ]
        blocks.append(f"    {json.dumps(name)}: {{\n" + ",\n".join(fields) + "\n    }")
    return "{\n" + ",\n".join(blocks) + "\n  }"


def _endpoints_block(endpoints: Any) -> str:
    if not isinstance(endpoints, dict) or not endpoints:
        return _inline(endpoints)
    lines = [f"        {json.dumps(name)}: {_inline(weights)}" for name, weights in endpoints.items()]
    return "{\n" + ",\n".join(lines) + "\n      }"


def _inline(value: Any) -> str:
    """Compact one-line JSON (``{"a": 1, "b": 2}``) with whole numbers written as integers."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, float) and math.isfinite(value):
        return format_weight(value)
    return json.dumps(value, ensure_ascii=False)


def _json_number(weight: float) -> int | float:
    return int(weight) if float(weight).is_integer() else float(weight)


def _replace_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never a part."""
    mode = stat.S_IMODE(path.stat().st_mode)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
