"""Make SageMaker refuse calls as AWS does (throttling, busy endpoint): moto never does."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse


class Rejection:
    """Answers the first ``times`` calls of ``operation`` with an AWS error (by default HTTP 400
    ``ValidationException: Cannot update in-progress endpoint``, SageMaker's answer while busy).


    botocore emits ``before-send`` to *every* handler and uses the first response, so this
    handler (registered first) answers, and moto's handler is told to leave a throttled
    request alone: the emulator's state changes only for requests AWS would have accepted.
    The error then goes through botocore's real retry handler, as a throttled response from
    AWS would. ``sent`` counts every attempt, throttled or not.
    """

    error: ClassVar[dict[str, str]] = {"__type": "ValidationException", "message": "Cannot update in-progress endpoint"}

    def __init__(self, client: Any, operation: str, times: int, monkeypatch: pytest.MonkeyPatch):
        self.remaining = times
        self.sent = 0
        client.meta.events.register_first(f"before-send.sagemaker.{operation}", self)
        original = BotocoreStubber.__call__

        def moto_unless_throttled(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            if getattr(request, "throttled_by_test", False):
                return None
            return original(stubber, event_name, request, **kwargs)

        monkeypatch.setattr(BotocoreStubber, "__call__", moto_unless_throttled)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.sent += 1
        if self.remaining <= 0:
            return None  # moto answers
        self.remaining -= 1
        request.throttled_by_test = True
        body = json.dumps(self.error).encode()
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, MockRawResponse(body))


class Throttle(Rejection):
    """Answers the first ``times`` calls of ``operation`` with HTTP 400 ThrottlingException."""

    error: ClassVar[dict[str, str]] = {"__type": "ThrottlingException", "message": "Rate exceeded"}
