"""A small HTTP server on 127.0.0.1 that speaks SageMaker's InvokeEndpoint, for tests and benchmarks.

``POST /endpoints/<endpoint>/invocations`` with a CSV body (one row of features per line) answers
one score per line, computed by a deterministic model per variant (by default the two scorers of
``scripts/generate_churn_data.py``). ``X-Amzn-SageMaker-Target-Variant`` picks the variant, as on
AWS; without it the variant is drawn by the weights. The response names the variant in
``X-Amzn-Invoked-Production-Variant``.

With a :class:`scripts.stub_capture.DataCapture` it records every request it answers as SageMaker's
data capture does (the caller's ``X-Amzn-SageMaker-Inference-Id`` included), when and where the
endpoint's config says: see that module. An ``InferenceId`` InvokeEndpoint would refuse (over 64
characters, not printable ASCII, starting with whitespace) is refused here the same way.

With a shadow source (:class:`scripts.stub_shadow.DeployedShadow`: the endpoint's
``ShadowProductionVariants`` as DescribeEndpoint reports them) it serves an endpoint with a shadow as
SageMaker does: the caller gets the production variant's answer, and a seeded draw copies the sampled share
of requests (hypothesis H1, UNVERIFIED) to the shadow's model, whose answer is captured under the shadow's
variant folder with the production record's ``eventId`` and ``InferenceId`` (UNVERIFIED, design Q4): see
that module.

It can misbehave the way AWS does, to exercise retries: throttle the first N requests
(HTTP 400 ``ThrottlingException``), fail a fraction of one variant's requests (HTTP 500
``InternalFailure``), or answer with a model error (HTTP 424 ``ModelError``).

Point boto3 at it with ``boto3.client("sagemaker-runtime", endpoint_url=stub.url)``. It binds
to loopback only.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from live_quality.formats import InvalidRecord, check_inference_id
from scripts.generate_churn_data import MODELS
from scripts.stub_capture import CaptureSettings, DataCapture, EndpointNotFound
from scripts.stub_shadow import ShadowRoute, ShadowSource

Scorer = Callable[[Sequence[float]], float]
RESPONSE_CONTENT_TYPE = "text/csv"


@dataclass
class Misbehaviour:
    """How the stub fails. Defaults: never."""

    throttle_first: int = 0
    fail_fraction: Mapping[str, float] = field(default_factory=dict)  # variant → share of 500s
    model_error_variants: frozenset[str] = frozenset()
    seed: int = 0


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client closing a kept-alive connection is normal, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class StubRuntime:
    """The server; use as a context manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        endpoint_name: str,
        models: Mapping[str, Scorer] | None = None,
        weights: Mapping[str, float] | None = None,
        misbehaviour: Misbehaviour | None = None,
        capture: DataCapture | None = None,
        shadow: ShadowSource | None = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.capture = capture  # may be set later, e.g. once the server it reads configs from runs
        self.shadow = shadow  # the same; None: no endpoint has a shadow
        self.models = dict(models or {"Variant1": MODELS["baseline"], "Variant2": MODELS["challenger"]})
        self.weights = dict(weights or dict.fromkeys(self.models, 1.0))
        self.misbehaviour = misbehaviour or Misbehaviour()
        self.requests: Counter[str] = Counter()  # variant (or "throttled") → requests answered
        self.rows: Counter[str] = Counter()
        self.shadow_copies: Counter[str] = Counter()  # shadow variant → requests copied to it
        self._lock = threading.Lock()
        self._random = random.Random(self.misbehaviour.seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> StubRuntime:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, each small response waits
            # for the client's delayed ACK (about 40 ms), which real endpoints do not add.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                headers_lower = {name.lower(): value for name, value in self.headers.items()}
                status, headers, payload = stub._answer(self.path, headers_lower, body)
                data = payload.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._stopped.clear()
        self._ticker = threading.Thread(target=self._deliver_captures, daemon=True)
        self._ticker.start()
        return self

    def _deliver_captures(self) -> None:
        """Every second, the capture batches that are due go out, as the instances deliver them."""
        while not self._stopped.wait(1.0):
            if self.capture is not None:
                self.capture.flush_due()

    def stop(self) -> None:
        self._stopped.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.capture is not None:
            self.capture.close()  # the instances deliver what they buffered

    def flush_capture(self) -> list[str]:
        """Deliver the buffered capture records now instead of within the minute; the objects written."""
        return self.capture.flush() if self.capture is not None else []

    @contextmanager
    def capture_delivered(self) -> Iterator[None]:
        """On leaving, deliver the buffered capture while the S3 it writes to still runs.

        The stub starts before the local AWS server (the server needs its URL), so it stops after
        it; records invoked in the last minute would then be delivered to a server that is gone.
        Enter this after the server: ``with StubRuntime(..) as stub, local_server(..) as url,
        stub.capture_delivered():``."""
        try:
            yield
        finally:
            self.flush_capture()

    def __enter__(self) -> StubRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _error(self, status: int, error_type: str, message: str) -> tuple[int, dict[str, str], str]:
        """An error as SageMaker Runtime answers it; ``error_type`` one of InvokeEndpoint's modelled errors
        (botocore's sagemaker-runtime model: ValidationError 400, ModelError 424, InternalFailure 500, …)."""
        return (
            status,
            {"x-amzn-ErrorType": error_type, "Content-Type": "application/json"},
            json.dumps({"message": message}),
        )

    def _answer(self, path: str, headers: Mapping[str, str], body: str) -> tuple[int, dict[str, str], str]:
        """Status, headers and body for one request (``headers`` with lower-case names)."""
        expected = f"/endpoints/{self.endpoint_name}/invocations"
        if path != expected:
            return self._error(400, "ValidationError", f"Endpoint {path} not found")
        inference_id = headers.get("x-amzn-sagemaker-inference-id")
        if inference_id is not None:
            try:
                check_inference_id(inference_id)
            except InvalidRecord as err:
                return self._error(400, "ValidationError", f"InferenceId: {err}")
        capture: CaptureSettings | None = None
        if self.capture is not None:
            try:
                capture = self.capture.settings(self.endpoint_name)
            except EndpointNotFound as err:
                return self._error(400, "ValidationError", str(err))
        shadow: ShadowRoute | None = None
        if self.shadow is not None:
            try:
                shadow = self.shadow(self.endpoint_name)
            except EndpointNotFound as err:
                return self._error(400, "ValidationError", str(err))
        target = headers.get("x-amzn-sagemaker-target-variant")
        if shadow is not None and target == shadow.variant:
            # TargetVariant names a *production* variant; a shadow's name: undocumented (design F11), refused here.
            return self._error(400, "ValidationError", f"Variant {target} is the shadow variant, not a production one")
        with self._lock:
            if self.misbehaviour.throttle_first > 0:
                self.misbehaviour.throttle_first -= 1
                self.requests["throttled"] += 1
                return self._error(400, "ThrottlingException", "Rate exceeded")
            variant = target or self._by_weight(exclude=shadow.variant if shadow else None)
            if variant not in self.models:
                return self._error(400, "ValidationError", f"Variant {variant} not found")
            self.requests[variant] += 1
            fail = self._random.random() < self.misbehaviour.fail_fraction.get(variant, 0.0)
        if variant in self.misbehaviour.model_error_variants:
            return self._error(424, "ModelError", "Received server error (500) from model")
        if fail:
            return self._error(500, "InternalFailure", "An internal error occurred")
        answer = self._score(variant, body)
        event_id = None
        if capture is not None and self.capture is not None:
            event_id = self._capture(capture, variant, inference_id, body, headers, answer)
        if shadow is not None:
            self._copy_to_shadow(shadow, body, capture, event_id, inference_id, headers)
        return 200, {"Content-Type": RESPONSE_CONTENT_TYPE, "X-Amzn-Invoked-Production-Variant": variant}, answer

    def _score(self, variant: str, body: str) -> str:
        scores = []
        for line in body.splitlines():
            if line.strip():
                scores.append(self.models[variant]([float(cell) for cell in line.split(",")]))
        with self._lock:
            self.rows[variant] += len(scores)
        return "\n".join(f"{s:.6f}" for s in scores)

    def _capture(
        self,
        settings: CaptureSettings,
        variant: str,
        inference_id: str | None,
        body: str,
        headers: Mapping[str, str],
        answer: str,
        copy_of: str | None = None,
    ) -> str | None:
        assert self.capture is not None
        return self.capture.record(
            settings,
            endpoint=self.endpoint_name,
            variant=variant,
            inference_id=inference_id,
            request_body=body,
            request_content_type=headers.get("content-type", ""),
            response_body=answer,
            response_content_type=RESPONSE_CONTENT_TYPE,
            copy_of=copy_of,
        )

    def _copy_to_shadow(
        self,
        shadow: ShadowRoute,
        body: str,
        capture: CaptureSettings | None,
        event_id: str | None,
        inference_id: str | None,
        headers: Mapping[str, str],
    ) -> None:
        """After production answered: a seeded draw copies the request to the shadow at its sampling share;
        the shadow's answer goes to capture only (beside the production record, same ``eventId``), never
        to the caller. A shadow the stub has no model for is a setup error, raised."""
        with self._lock:
            copied = self._random.random() * 100 < shadow.sampling_percentage
            if copied:
                self.shadow_copies[shadow.variant] += 1
        if not copied:
            return
        if shadow.variant not in self.models:
            raise KeyError(f"the stub has no model for the shadow variant {shadow.variant}")
        answer = self._score(shadow.variant, body)
        if capture is not None and event_id is not None:
            self._capture(capture, shadow.variant, inference_id, body, headers, answer, copy_of=event_id)

    def _by_weight(self, exclude: str | None = None) -> str:
        names = [n for n in self.weights if n != exclude]
        return self._random.choices(names, weights=[self.weights[n] for n in names])[0]
