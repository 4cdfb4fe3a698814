"""Pre-flight: before `run`, `eval` or `ground` starts work, the endpoint answers and serves the named model.

Without it a wrong `--base-url` costs ~13 s of retries in `run` and every task of an `eval` (1 min 41 s for
6 tasks, all errored). One GET /models answers within a few seconds and names what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from agent.backends.base import BackendError
from agent.backends.vllm_server import DEFAULT_PORT, ServeConfig
from environments.settings import SettingError, check_numbers

DEFAULT_TIMEOUT = 5.0
EXAMPLE = "http://127.0.0.1:8000/v1"
STAND_IN_HEADER = "x-model-stand-in"
"""Our scripted stand-in server sends it; it plays back its script whatever model name it is asked for."""


class PreflightError(BackendError):
    """The endpoint cannot serve the run; the one-line message says what to fix."""


def check_url(base_url: str) -> None:
    """A usable http(s) URL with a host, or a `PreflightError` with an example."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PreflightError(f"--base-url {base_url!r} is not an http(s) URL: give e.g. {EXAMPLE}")
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number or out of range
    except ValueError:
        raise PreflightError(f"--base-url {base_url!r} has no valid port: give e.g. {EXAMPLE}") from None


def served_models(
    base_url: str, model: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT,
) -> tuple[str, ...]:
    """The model ids `base_url` serves (GET /models), checked to include `model`; else a `PreflightError`."""
    check_url(base_url)
    url = f"{base_url.rstrip('/')}/models"
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.ConnectError as err:
        if "name" in _reason(err).lower():  # 'Name or service not known', 'Temporary failure in name …'
            raise PreflightError(f"cannot find the host {urlsplit(base_url).hostname} of {base_url} "
                                 f"({_reason(err)}): fix --base-url") from None
        raise PreflightError(f"nothing answers at {base_url} ({_reason(err)}): start the server "
                             f"(kimi-agent serve) or fix --base-url") from None
    except httpx.TimeoutException:
        raise PreflightError(f"{base_url} did not answer GET /models within {timeout:g} s: is the server up "
                             f"and reachable from here? (or fix --base-url)") from None
    except httpx.HTTPError as err:
        raise PreflightError(f"cannot reach {base_url}: {_reason(err)}; fix --base-url") from None
    if response.status_code in (401, 403):
        raise PreflightError(f"{base_url} refused the API key (HTTP {response.status_code}): give the right "
                             f"--api-key or KIMI_AGENT_API_KEY")
    if response.status_code == 404:
        raise PreflightError(f"{url} does not exist (HTTP 404): --base-url must be the OpenAI-compatible "
                             f"root, usually ending in /v1, e.g. {EXAMPLE}")
    if response.status_code != 200:
        raise PreflightError(f"{base_url} answered GET /models with HTTP {response.status_code}: is the "
                             f"server healthy? (its log says why)")
    try:
        names = tuple(str(entry["id"]) for entry in response.json()["data"])
    except (ValueError, KeyError, TypeError):
        raise PreflightError(f"{url} did not answer with a model list: is {base_url} an OpenAI-compatible "
                             f"server (such as vllm serve)?") from None
    if model not in names and not response.headers.get(STAND_IN_HEADER):
        served = ", ".join(names) if names else "no model"
        hint = f"pass --model {names[0]}" if len(names) == 1 else "pass one of them with --model"
        raise PreflightError(f"{base_url} serves {served}, not {model}: {hint} (or point --base-url at a "
                             f"server serving {model})")
    return names


def check_endpoints(backend: str, base_urls: Sequence[str | None], model: str, api_key: str | None = None,
                    timeout: float = DEFAULT_TIMEOUT, serve_port: int = DEFAULT_PORT) -> None:
    """Check every endpoint a command will use before it starts work; a `PreflightError` names a bad one.

    Nothing to check for the `scripted` and `vllm-offline` backends (no server), nor for the default local
    endpoint when nothing answers there yet: the command starts `vllm serve` for `model` itself and waits for
    its health, so it serves `model` by construction. Something else already answering there is checked.
    `serve_port` is that local endpoint's port (`run --serve-port`).
    """
    try:
        check_numbers()
    except SettingError as err:
        raise PreflightError(str(err)) from None
    if backend != "openai":
        return
    for base_url in dict.fromkeys(base_urls or (None,)):
        if base_url is None:
            base_url = ServeConfig(checkpoint=model, port=serve_port).base_url
            if not _answers(base_url, timeout):
                continue
        served_models(base_url, model, api_key, timeout)


def _answers(base_url: str, timeout: float) -> bool:
    try:
        httpx.get(f"{base_url}/models", timeout=timeout)
    except httpx.HTTPError:
        return False
    return True


def _reason(err: Exception) -> str:
    """The innermost cause's words ('[Errno 111] Connection refused', 'Name or service not known')."""
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    text = str(err) or type(err).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text
