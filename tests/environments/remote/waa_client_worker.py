"""Runs WindowsAgentArena's own client controller against a VM server and prints what it reads.

Run by tests/environments/remote/test_waa_protocol.py, under the separate virtual environment of
.ci/setup-waa-client (never the project's), with WAA's checkout on the path:

    KIMI_AGENT_WAA_CHECKOUT=/path/to/src/win-arena-container \\
        .venv-waa-client/bin/python tests/environments/remote/waa_client_worker.py URL ROOT < calls.json

stdin: a JSON list of calls `{"method": name, "args": [...]}` of WAA's `PythonController`
(`{root}` in an argument is ROOT). stdout: one JSON object per call: the value WAA's method returned
(reduced to JSON: an observation tuple to its fields' facts) and every HTTP exchange it made (method,
route, request content type and body, answer status and the answer's JSON keys), with ROOT written
back as `{root}`. This file imports nothing of the project; it only observes WAA's code.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any


def _reading(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 6:  # get_obs_winagent's answer
        image, title, rect, names, clipboard, human = value
        x0, y0, x1, y1 = rect
        return {"window_title": title, "rect_is_image_size": list(image.size) == [x1 - x0, y1 - y0],
                "title_is_listed": title in names.split("\n") or title == "Desktop",
                "computer_clipboard": clipboard, "human_input": human}
    if isinstance(value, dict):
        return {"keys": sorted(value), "status": value.get("status")}
    if isinstance(value, str) and value.lstrip().startswith("<"):
        return "an XML tree"
    return value


def main() -> None:
    url, root = sys.argv[1], sys.argv[2]
    sys.path.insert(0, os.path.join(os.environ["KIMI_AGENT_WAA_CHECKOUT"], "client"))
    import requests
    from desktop_env.controllers.python import PythonController
    from PIL import Image

    exchanges: list[dict[str, Any]] = []
    send = requests.Session.send

    def observed(session: requests.Session, request: requests.PreparedRequest,
                 **kwargs: Any) -> requests.Response:
        response = send(session, request, **kwargs)
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        try:
            keys = sorted(response.json())
        except ValueError:
            keys = None
        exchanges.append({
            "method": request.method, "route": request.path_url,
            "content_type": request.headers.get("Content-Type"),
            "body": body, "status": response.status_code, "answer_keys": keys,
        })
        return response

    requests.Session.send = observed  # requests.get/post go through Session.send
    controller = PythonController("127.0.0.1")
    controller.http_server = url  # WAA's controller fixes port 5000; the server under test has its own
    pixel = Image.new("RGB", (4, 4))
    results = []
    for call in json.loads(sys.stdin.read()):
        args = [a.replace("{root}", root) if isinstance(a, str) else a for a in call["args"]]
        if call["method"] == "update_computer":
            args[2] = pixel  # the screenshot argument is an image
        exchanges.clear()
        value = getattr(controller, call["method"])(*args)
        text = json.dumps({"call": call, "reading": _reading(value), "exchanges": exchanges})
        results.append(json.loads(text.replace(root, "{root}")))
    out = io.StringIO()
    json.dump(results, out, indent=1)
    print(out.getvalue())


if __name__ == "__main__":
    main()
