"""A client for any OpenAI-compatible chat endpoint (this is how a `vllm serve` process is used)."""

from __future__ import annotations

import random
import time
from typing import Sequence

import httpx
from pydantic import BaseModel, ValidationError

from agent.backends.base import BackendResponseError, BackendTimeout, BackendUnavailable
from agent.chat import Completion, Message, Sampling, Usage

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0


class _PromptDetails(BaseModel):
    cached_tokens: int | None = None


class _Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: _PromptDetails | None = None


class _ReplyMessage(BaseModel):
    content: str | None = None
    reasoning_content: str | None = None


class _Choice(BaseModel):
    message: _ReplyMessage
    finish_reason: str | None = None


class _ChatResponse(BaseModel):
    choices: list[_Choice]
    usage: _Usage | None = None


class OpenAICompatBackend:
    """POSTs chat completions with bounded retries on connection errors, timeouts, 429 and 5xx."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 5.0,
        max_retries: int = 4,
        backoff: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=connect_timeout)
        )

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        body = {
            "model": self.model,
            "messages": [m.model_dump(mode="json") for m in messages],
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "stop": list(sampling.stop),
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        started = time.perf_counter()
        response = self._post("/chat/completions", body)
        return _completion(response, time.perf_counter() - started)

    def list_models(self) -> list[str]:
        """Model ids the server serves."""
        response = self._client.get(f"{self.base_url}/models", timeout=5.0)
        response.raise_for_status()
        return [m.get("id", "") for m in response.json().get("data", [])]

    def _post(self, path: str, body: dict) -> httpx.Response:
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.post(url, json=body)
            except httpx.TimeoutException as err:
                if last:
                    raise BackendTimeout(f"{url} did not answer in time after {attempt + 1} tries ({err})") from err
                self._sleep(attempt)
                continue
            except httpx.TransportError as err:
                if last:
                    raise BackendUnavailable(
                        f"cannot reach {url} after {attempt + 1} tries ({type(err).__name__}: {err}); "
                        "is the model server running? (`kimi-agent serve`, or check --base-url)"
                    ) from err
                self._sleep(attempt)
                continue
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(attempt, _retry_after(response))
                continue
            if response.status_code >= 400:
                raise BackendResponseError(
                    f"{url} answered {response.status_code}: {_error_message(response)}", response.status_code
                )
            return response
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int, at_least: float = 0.0) -> None:
        delay = self.backoff * (2**attempt) * random.uniform(0.8, 1.2)
        time.sleep(min(max(delay, at_least), MAX_RETRY_AFTER))

    def close(self) -> None:
        self._client.close()


def _completion(response: httpx.Response, seconds: float) -> Completion:
    try:
        parsed = _ChatResponse.model_validate_json(response.content)
    except ValidationError as err:
        raise BackendResponseError(
            f"the server's answer is not a chat completion: {err.errors()[0]['msg']}", response.status_code
        ) from None
    if not parsed.choices:
        raise BackendResponseError("the server's answer has no choices", response.status_code)
    choice = parsed.choices[0]
    usage = parsed.usage or _Usage()
    details = usage.prompt_tokens_details
    return Completion(
        text=choice.message.content or "",
        reasoning=choice.message.reasoning_content or "",
        finish_reason=choice.finish_reason,
        usage=Usage(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=details.cached_tokens if details else None,
        ),
        seconds=seconds,
    )


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", 0)), MAX_RETRY_AFTER)
    except ValueError:
        return 0.0


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        message = error.get("message") if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        message = None
    return message or response.text[:300] or response.reason_phrase


def is_serving(base_url: str, timeout: float = 2.0) -> bool:
    """True when an OpenAI-compatible server answers /models at `base_url`."""
    try:
        return httpx.get(f"{base_url.rstrip('/')}/models", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False
