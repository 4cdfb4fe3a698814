"""A client for any OpenAI-compatible chat endpoint (this is how a `vllm serve` process is used).

Faults and what happens (each retry waits `backoff * 2**n` s, ±20 %, at most 30 s):
    connection refused/reset, cut-off body    retried, then `BackendUnavailable`
    no answer within `timeout`                 retried, then `BackendTimeout`
    429, 500, 502, 503, 504                    retried (429 waits Retry-After), then `BackendResponseError`
    a 200 whose body is not a chat completion  retried, then `BackendResponseError`
    any other 4xx                              `BackendResponseError` at once (the request is wrong)
With the defaults (4 retries, 1 s backoff) a server that restarts within ~15 s is waited for.
The environment variables KIMI_AGENT_MODEL_RETRIES, KIMI_AGENT_MODEL_TIMEOUT and
KIMI_AGENT_MODEL_BACKOFF change the defaults for every client a process makes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import httpx
from pydantic import BaseModel, JsonValue, ValidationError

from actions.reply import THINK_MARKERS
from agent.backends.base import BackendResponseError, BackendTimeout, BackendUnavailable
from agent.backends.chat import Completion, Message, Sampling, Usage
from agent.backends.request_body import RequestBody
from environments.settings import MODEL_BACKOFF, MODEL_RETRIES, MODEL_TIMEOUT, number_from_env

ExtraBody = dict[str, JsonValue]
"""Fields merged into every chat request as they are (and over ours), e.g. vLLM's
`{"structured_outputs": {"regex": "..."}}`: options of one server the client has no name for."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0
DEFAULT_RETRIES, DEFAULT_TIMEOUT, DEFAULT_BACKOFF = 4, 300.0, 1.0


class _PromptDetails(BaseModel):
    cached_tokens: int | None = None


class _Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: _PromptDetails | None = None


class _ReplyMessage(BaseModel):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    """Newer vLLM releases name the reasoning parser's output `reasoning`."""

    @property
    def thinking(self) -> str:
        return self.reasoning_content or self.reasoning or ""


class _Choice(BaseModel):
    message: _ReplyMessage
    finish_reason: str | None = None


class _ChatResponse(BaseModel):
    choices: list[_Choice]
    usage: _Usage | None = None


class _StreamChoice(BaseModel):
    delta: _ReplyMessage = _ReplyMessage()
    finish_reason: str | None = None


class _Chunk(BaseModel):
    choices: list[_StreamChoice] = []
    usage: _Usage | None = None


@dataclass(frozen=True)
class StreamProgress:
    """How much of a streamed answer has arrived: deltas (vLLM sends one per generated token) and characters,
    split into thinking (`reasoning_content`, or text inside an inline ◁think▷ block) and the answer."""

    thinking_tokens: int = 0
    answer_tokens: int = 0
    thinking_chars: int = 0
    answer_chars: int = 0

    @property
    def answering(self) -> bool:
        return self.answer_tokens > 0


OnProgress = Callable[[StreamProgress], None]


class OpenAICompatBackend:
    """POSTs chat completions with bounded retries on connection errors, timeouts, 429, 5xx and
    malformed answers; `None` arguments take the KIMI_AGENT_MODEL_* variables or the defaults."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float | None = None,
        connect_timeout: float = 5.0,
        max_retries: int | None = None,
        backoff: float | None = None,
        stream: bool = False,
        extra_body: ExtraBody | None = None,
        on_progress: OnProgress | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.extra_body: ExtraBody = dict(extra_body or {})
        if "messages" in self.extra_body:
            raise ValueError("extra_body cannot replace the messages: the agent builds them")
        self.stream = stream
        """Ask for a streamed answer (server-sent events); the completion is the same as unstreamed."""
        self.on_progress = on_progress
        """Told, as each streamed delta arrives, how much has arrived (a spinner's token count)."""
        if max_retries is None:
            max_retries = number_from_env(MODEL_RETRIES, DEFAULT_RETRIES, int)
        self.max_retries = int(max_retries)
        if backoff is None:
            backoff = number_from_env(MODEL_BACKOFF, DEFAULT_BACKOFF, float)
        self.backoff = backoff
        timeout = timeout if timeout is not None else number_from_env(MODEL_TIMEOUT, DEFAULT_TIMEOUT, float)
        connect_timeout = min(connect_timeout, timeout)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=connect_timeout)
        )
        self._body = RequestBody()

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        fields: dict[str, object] = {
            "model": self.model,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "stop": list(sampling.stop),
        }
        if sampling.seed is not None:
            fields["seed"] = sampling.seed
        if self.stream:
            fields["stream"] = True
            fields["stream_options"] = {"include_usage": True}
        fields.update(self.extra_body)
        started = time.perf_counter()
        return self._post("/chat/completions", self._body.encode(fields, messages), started)

    def list_models(self) -> list[str]:
        """Model ids the server serves."""
        response = self._client.get(f"{self.base_url}/models", timeout=5.0)
        response.raise_for_status()
        return [m.get("id", "") for m in response.json().get("data", [])]

    def _post(self, path: str, body: bytes, started: float) -> Completion:
        url = f"{self.base_url}{path}"
        tries = self.max_retries + 1
        for attempt in range(tries):
            last = attempt == self.max_retries
            try:
                response, stream = self._send(url, body)
            except httpx.TimeoutException as err:
                if last:
                    raise BackendTimeout(
                        f"{url} did not answer within {self._client.timeout.read:g} s, {tries} tries "
                        f"({type(err).__name__}); is the server overloaded? "
                        f"Raise {MODEL_TIMEOUT} for long generations"
                    ) from err
                self._sleep(attempt)
                continue
            except httpx.TransportError as err:
                if last:
                    raise BackendUnavailable(
                        f"cannot reach {url} after {tries} tries ({type(err).__name__}: {err}); "
                        "is the model server running? (`kimi-agent serve`, or check --base-url)"
                    ) from err
                self._sleep(attempt)
                continue
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(attempt, _retry_after(response))
                continue
            if response.status_code >= 400:
                tried = f" after {tries} tries" if response.status_code in RETRY_STATUSES else ""
                raise BackendResponseError(
                    f"{url} answered {response.status_code}{tried}: {_error_message(response)}",
                    response.status_code,
                )
            try:
                if stream is not None:
                    return stream.completion(response, time.perf_counter() - started)
                return _completion(response, time.perf_counter() - started)
            except BackendResponseError as err:
                # A proxy or a server under strain can send one bad body; a wrong endpoint sends them all.
                if last:
                    raise BackendResponseError(
                        f"{url}: {err} ({tries} tries); is --base-url an OpenAI-compatible /v1 endpoint?",
                        err.status,
                    ) from None
                self._sleep(attempt)
        raise AssertionError("unreachable")

    def _send(self, url: str, body: bytes) -> tuple[httpx.Response, _StreamReader | None]:
        """The answer; a streamed one is read delta by delta as it arrives (None for any other answer)."""
        headers = {"Content-Type": "application/json"}
        if not self.stream:
            return self._client.post(url, content=body, headers=headers), None
        with self._client.stream("POST", url, content=body, headers=headers) as response:
            if response.status_code >= 400 or not _is_event_stream(response):
                response.read()
                return response, None
            reader = _StreamReader(self.on_progress)
            for line in response.iter_lines():
                reader.feed(line)
            return response, reader

    def _sleep(self, attempt: int, at_least: float = 0.0) -> None:
        delay = self.backoff * (2**attempt) * random.uniform(0.8, 1.2)
        time.sleep(min(max(delay, at_least), MAX_RETRY_AFTER))

    def close(self) -> None:
        self._client.close()


def _is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def _completion(response: httpx.Response, seconds: float) -> Completion:
    if _is_event_stream(response):  # a server that streams unasked
        return _StreamReader(None, response.text.splitlines()).completion(response, seconds)
    try:
        parsed = _ChatResponse.model_validate_json(response.content)
    except ValidationError as err:
        raise BackendResponseError(
            f"the answer is not a chat completion ({err.errors()[0]['msg']}: {response.text[:80]!r})",
            response.status_code,
        ) from None
    if not parsed.choices:
        raise BackendResponseError("the server's answer has no choices", response.status_code)
    choice = parsed.choices[0]
    return Completion(
        text=choice.message.content or "",
        reasoning=choice.message.thinking,
        finish_reason=choice.finish_reason,
        usage=_usage(parsed.usage or _Usage()),
        seconds=seconds,
        stand_in=_stand_in(response),
    )


class _StreamReader:
    """A streamed answer joined into one as its lines arrive: text and thinking deltas in order, the last
    finish reason, usage. A bad chunk is reported when the answer is asked for (retried like a bad body)."""

    def __init__(self, on_progress: OnProgress | None, lines: Iterable[str] = ()) -> None:
        self.on_progress = on_progress
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.finish_reason: str | None = None
        self.usage = _Usage()
        self.done = False
        self.bad: str | None = None
        self.progress = StreamProgress()
        self._inline = False
        self._tail = ""
        for line in lines:
            self.feed(line)

    def feed(self, line: str) -> None:
        if self.done or self.bad is not None or not line.startswith("data:"):
            return  # blank separators, comments and event names carry no delta
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            self.done = True
            return
        try:
            chunk = _Chunk.model_validate_json(data)
        except ValidationError:
            self.bad = data
            return
        for choice in chunk.choices[:1]:
            self._count(choice.delta.thinking, choice.delta.content or "")
            self.text.append(choice.delta.content or "")
            self.thinking.append(choice.delta.thinking)
            self.finish_reason = choice.finish_reason or self.finish_reason
        self.usage = chunk.usage or self.usage

    def _count(self, thinking: str, content: str) -> None:
        if not thinking and not content:
            return
        was_inline = self._inline
        if content:  # an inline ◁think▷ block: its text is thinking too
            window = self._tail + content
            opened = max(window.rfind(start) for start, _ in THINK_MARKERS)
            closed = max(window.rfind(end) for _, end in THINK_MARKERS)
            self._inline = opened > closed if opened != closed else self._inline
            self._tail = window[-16:]
        p = self.progress
        if thinking or was_inline or self._inline:
            chars = p.thinking_chars + len(thinking) + len(content)
            self.progress = replace(p, thinking_tokens=p.thinking_tokens + 1, thinking_chars=chars)
        else:
            chars = p.answer_chars + len(content)
            self.progress = replace(p, answer_tokens=p.answer_tokens + 1, answer_chars=chars)
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def completion(self, response: httpx.Response, seconds: float) -> Completion:
        if self.bad is not None:
            raise BackendResponseError(
                f"a streamed chunk is not a chat completion chunk: {self.bad[:80]!r}", response.status_code
            )
        if not self.done and self.finish_reason is None:
            raise BackendResponseError("the stream ended before its last chunk", response.status_code)
        return Completion(
            text="".join(self.text),
            reasoning="".join(self.thinking),
            finish_reason=self.finish_reason,
            usage=_usage(self.usage),
            seconds=seconds,
            stand_in=_stand_in(response),
        )


def _stand_in(response: httpx.Response) -> str | None:
    """What our scripted stand-in server says it is (its `x-model-stand-in` header); None from a model
    server."""
    name = response.headers.get("x-model-stand-in")
    return f"scripted stand-in server ({name})" if name else None


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


def _usage(usage: _Usage) -> Usage:
    """The server's token counts, the cached prompt tokens where it reports them."""
    details = usage.prompt_tokens_details
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=details.cached_tokens if details else None,
    )
