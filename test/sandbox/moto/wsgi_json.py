"""The JSON answer of the launcher's /_sandbox/ endpoints (server.py and the patch modules)."""

from __future__ import annotations

import json
from typing import Any


def json_response(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
