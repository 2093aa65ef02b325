"""Fakes of Azure's wire for the tests: complete JSON answers, a transport that answers each
request and keeps them all (so a test proves what the SDK clients were asked), and credentials.
Every Azure client takes ``transport=``; azure-core's own pipeline runs in front of it.
"""

from __future__ import annotations

import http
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import case_insensitive_dict

DUMMY_TOKEN = "dummy-token-never-shown"
# (status, body, headers); a body is bytes as sent, JSON-able, or None for none.
Answer = tuple[int, Any, dict[str, str]]


class RecordedResponse(HttpResponse):
    """A complete, already-read JSON answer."""

    def __init__(self, request: HttpRequest, status: int, body: bytes) -> None:
        self._request = request
        self._status = status
        self._body = body
        self._headers = case_insensitive_dict({"Content-Type": "application/json; charset=utf-8"})
        self._closed = False
        self._encoding: str | None = "utf-8"

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def headers(self) -> Any:
        return self._headers

    @property
    def reason(self) -> str:
        return http.HTTPStatus(self._status).phrase

    @property
    def content_type(self) -> str:
        return str(self._headers["Content-Type"])

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_stream_consumed(self) -> bool:
        return True

    @property
    def encoding(self) -> str | None:
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._body

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode(encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._body)

    def raise_for_status(self) -> None:
        if self._status >= 400:
            raise HttpResponseError(response=self)

    def read(self) -> bytes:
        return self._body

    def body(self) -> bytes:
        # Not in the abstract HttpResponse, but every azure-core transport response has it and
        # the management SDK's deserializer looks for it.
        return self._body

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> RecordedResponse:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class Answering(HttpTransport[HttpRequest, RecordedResponse]):
    """Answers each request with ``answer(request)``; keeps every request in ``requests``."""

    def __init__(self, answer: Callable[[HttpRequest], Answer]) -> None:
        self.answer = answer
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest, **kwargs: Any) -> RecordedResponse:
        self.requests.append(request)
        status, body, headers = self.answer(request)
        if body is None:
            content = b""
        elif isinstance(body, bytes):
            content = body
        else:
            content = json.dumps(body).encode()
        response = RecordedResponse(request, status, content)
        response.headers.update(headers)
        return response

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        pass


class FakeCredential:
    """A TokenCredential that hands out a dummy token and remembers the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(DUMMY_TOKEN, int(time.time()) + 3600)


class SignedOutCredential:
    """What DefaultAzureCredential does on a machine where nobody signed in."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials."
        )
