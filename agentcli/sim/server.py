"""SimServer: the embedded OpenAI-compatible simulator, one loopback port for HTTP and websockets.

    async with SimServer(script) as sim:
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key="sim")

Endpoints live in responses_api, chat_api and audio_api; websocket routes (the realtime simulator) are
registered in `websocket_routes` by path, or found lazily in DEFAULT_WEBSOCKET_ROUTES.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
from types import TracebackType
from typing import Any

from agentcli.sim.http import HttpError, HttpServer, Request, Responder
from agentcli.sim.script import Fault, SimScript
from agentcli.sim.websocket import WebSocketConn, WebSocketHandler, upgrade

__all__ = ["SimServer", "Request", "WebSocketConn", "WebSocketHandler", "HttpError"]

# path -> "module:function", imported on the first upgrade so the realtime code costs nothing until used
GEMINI_ROUTE = "agentcli.sim.gemini:handle_gemini"  # Gemini Live, on the paths google-genai builds
DEFAULT_WEBSOCKET_ROUTES = {
    "/v1/realtime": "agentcli.sim.realtime:handle_realtime",
    **{
        f"/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent": GEMINI_ROUTE
        for v in ("v1", "v1beta", "v1alpha")
    },
}

_FAULT_MESSAGES = {
    429: ("Rate limit reached for requests (simulated).", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request (simulated).", "server_error", None),
    502: ("Bad gateway (simulated).", "server_error", None),
    503: ("The server is overloaded or not ready yet (simulated).", "server_error", None),
}

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


class SimServer:
    """A deterministic, scriptable OpenAI-compatible server on loopback (see agentcli/sim/script.py)."""

    def __init__(self, script: SimScript | None = None, host: str = "127.0.0.1", port: int = 0):
        self.script = script
        self.host = host
        self.requests: list[dict[str, Any]] = []  # request bodies (JSON, or form fields), for tests
        self.request_paths: list[str] = []  # the path of each entry in `requests`
        self.websocket_routes: dict[str, WebSocketHandler] = {}
        self.responses_store: dict[str, list[dict[str, Any]]] = {}  # response id -> conversation, for
        # previous_response_id
        self.response_objects: dict[str, dict[str, Any]] = {}  # response id -> the final object, for GET
        self._heard: dict[str, str] = {}  # sha256 of the audio -> what it was heard as
        self._faults: list[list[Any]] = [[f, f.times] for f in (script.faults if script else [])]
        self._hear_next = 0
        self._ids = itertools.count(1)
        self._http = HttpServer(self._dispatch, host, port)

    # --- lifecycle ------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def client_key(self) -> str:
        """The key a client of this server should send: the script's `api_key`, else "sim"."""
        return (self.script.api_key if self.script else None) or "sim"

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (keep-alive reuse keeps this low)."""
        return self._http.connections_accepted

    async def start(self) -> None:
        await self._http.start()

    async def stop(self) -> None:
        await self._http.stop()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- state shared by the endpoints ------------------------------------------------------------

    def next_id(self, prefix: str, sep: str = "_") -> str:
        """A deterministic id: `resp_sim1`, `msg_sim2`, `chatcmpl-sim3` ... (one counter per server)."""
        return f"{prefix}{sep}sim{next(self._ids)}"

    def next_heard(self, default: str, audio: bytes | None = None) -> str:
        """What a transcription hears: the script's next `hear:` entry, else `default`. The same audio is
        always heard the same way: a retry, or several clients sending one recording, each get the text
        its first sending got, without using up an entry."""
        import hashlib

        key = hashlib.sha256(audio).hexdigest() if audio is not None else None
        if key is not None and key in self._heard:
            return self._heard[key]
        hear = self.script.hear if self.script else []
        text = default
        if self._hear_next < len(hear):
            self._hear_next += 1
            text = hear[self._hear_next - 1]
        if key is not None:
            self._heard[key] = text
        return text

    def latency_ms(self, knob: str) -> int:
        """One of the script's latency knobs: first_token_ms | stt_ms | tts_first_byte_ms."""
        return int(getattr(self.script.latency, knob)) if self.script else 0

    def take_fault(self) -> Fault | None:
        if not self._faults:
            return None
        entry = self._faults[0]
        entry[1] -= 1
        if entry[1] <= 0:
            self._faults.pop(0)
        return entry[0]

    # --- dispatch ---------------------------------------------------------------------------------

    async def _dispatch(self, request: Request, responder: Responder) -> None:
        request.sim = self
        is_upgrade = request.headers.get("upgrade", "").lower() == "websocket"
        if is_upgrade and request.method == "GET":
            ws_handler = self._websocket_route(request.path)
            if ws_handler is None:
                raise _invalid_url(request)
            self._check_auth(request)
            drop_after = await self._apply_fault(responder)
            if drop_after is not None:  # the handler may count its own events; the conn counts messages
                request.extra["disconnect_after_events"] = drop_after
            request.extra["go_away_after_events"] = getattr(responder, "go_away_after_events", None)
            await upgrade(request, responder, ws_handler, drop_after)
            return
        if request.method == "GET" and (getter := _get_route(request.path)) is not None:
            self._check_auth(request)
            self.request_paths.append(request.path)
            await self._apply_fault(responder)
            await responder.send_json(200, getter(self))
            return
        endpoint = _route(request)
        if endpoint is None:
            raise _invalid_url(request)
        self._check_auth(request)
        handle, kind = endpoint
        body = _multipart_body(request) if kind == "form" else request.json()
        # recorded before faults apply: a retried request shows up once per attempt
        self.requests.append({k: getattr(v, "summary", v) for k, v in body.items()})
        self.request_paths.append(request.path)
        await self._apply_fault(responder)
        await handle(self, request, responder, body)

    def _websocket_route(self, path: str) -> WebSocketHandler | None:
        if path in self.websocket_routes:
            return self.websocket_routes[path]
        target = DEFAULT_WEBSOCKET_ROUTES.get(path)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        try:
            handler = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            return None
        return handler  # type: ignore[no-any-return]

    def _check_auth(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if request.headers.get("x-goog-api-key"):  # Gemini's clients send the key in this header
            scheme, key = "bearer", request.headers["x-goog-api-key"]
        if scheme.lower() != "bearer" or not key.strip():
            raise HttpError(401, _NO_KEY)
        expected = self.script.api_key if self.script else None
        # the key is compared and forgotten: never stored, logged or echoed
        if expected is not None and key.strip() != expected:
            raise HttpError(
                401,
                "Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    async def _apply_fault(self, responder: Responder) -> int | None:
        """Apply the next scripted fault: sleep, raise an error status, or return after how many events
        the connection is to be dropped (None: not dropped)."""
        fault = self.take_fault()
        if fault is None:
            return None
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.status is not None:
            message, type_, code = _FAULT_MESSAGES.get(fault.status, (f"Simulated error {fault.status}.", None, None))
            raise HttpError(
                fault.status,
                fault.message or message,
                type=type_,
                code=code,
                headers={"retry-after-ms": str(fault.retry_after_ms)},
            )
        responder.drop_after_events = fault.disconnect_after_events
        responder.go_away_after_events = fault.go_away_after_events  # type: ignore[attr-defined]
        return fault.disconnect_after_events


def _invalid_url(request: Request) -> HttpError:
    return HttpError(404, f"Invalid URL ({request.method} {request.path})")


# the models the simulator lists (any model name is accepted in requests all the same)
SIM_MODELS = ("gpt-4.1-mini", "gpt-4o-mini-transcribe", "gpt-4o-mini-tts", "gpt-realtime", "whisper-1")


def _model_obj(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "agentcli-sim"}


def _get_route(path: str) -> Any:
    """A function SimServer -> JSON for a GET endpoint, or None."""
    if path == "/v1/models":
        return lambda sim: {"object": "list", "data": [_model_obj(m) for m in SIM_MODELS]}
    if path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
        model_id = path[len("/v1/models/") :]
        return lambda sim: _model_obj(model_id)
    if path.startswith("/v1/responses/") and "/" not in path[len("/v1/responses/") :]:
        from agentcli.sim.responses_api import get_response

        response_id = path[len("/v1/responses/") :]
        return lambda sim: get_response(sim, response_id)
    return None


def _route(request: Request) -> tuple[Any, str] | None:
    """(handler, body kind) for a POST endpoint; endpoint modules load on first use."""
    if request.method != "POST":
        return None
    if request.path == "/v1/responses":
        from agentcli.sim.responses_api import handle_responses

        return handle_responses, "json"
    if request.path == "/v1/chat/completions":
        from agentcli.sim.chat_api import handle_chat

        return handle_chat, "json"
    if request.path == "/v1/audio/transcriptions":
        from agentcli.sim.audio_api import handle_transcription

        return handle_transcription, "form"
    if request.path == "/v1/audio/speech":
        from agentcli.sim.audio_api import handle_speech

        return handle_speech, "json"
    return None


def _multipart_body(request: Request) -> dict[str, Any]:
    from agentcli.sim.multipart import parse_form

    return parse_form(request)
