"""OpenTelemetry: the OTLP/JSON export shape, live OTLP/HTTP export, and the missing-extra notice."""

from __future__ import annotations

import http.server
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from agentcli import events as ev
from agentcli.tracing import writer as recorder_module
from agentcli.tracing.otlp import to_otlp_json
from agentcli.tracing.otlp_live import MISSING_EXTRA

from .helpers import at, record, stored


def _trace_with_everything() -> dict[str, Any]:
    return record(
        [
            ev.SessionStarted(ts=at(0), agent="triage", metadata={"model": "gpt-test"}),
            ev.TurnStarted(ts=at(1), turn=1, input="hi", agent="triage"),
            ev.AgentStarted(ts=at(2), agent="triage"),
            ev.GenerationStarted(ts=at(3), agent="triage", model="gpt-test"),
            ev.Retrying(ts=at(4), attempt=1, reason="HTTP 429"),
            ev.GenerationDone(
                ts=at(9), agent="triage", model="gpt-test", usage=ev.Usage(input_tokens=12, output_tokens=3)
            ),
            ev.ToolCallStarted(ts=at(10), agent="triage", call_id="call_1", name="get_weather", arguments="{}"),
            ev.ToolCallFinished(ts=at(12), agent="triage", call_id="call_1", name="get_weather", error="boom"),
            ev.AgentFinished(ts=at(13), agent="triage"),
            ev.TurnDone(ts=at(14), turn=1, agent="triage"),
            ev.SessionEnded(ts=at(15)),
        ],
        group_id="s1",
    )


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for kv in span["attributes"]:
        ((kind, value),) = kv["value"].items()
        out[kv["key"]] = (kind, value)
    return out


def test_otlp_json_shape_and_genai_attributes() -> None:
    doc = _trace_with_everything()
    otlp = to_otlp_json(doc["trace"], doc["spans"])
    (resource_spans,) = otlp["resourceSpans"]
    assert _attrs(resource_spans["resource"])["service.name"] == ("stringValue", "agentcli")
    (scope_spans,) = resource_spans["scopeSpans"]
    assert scope_spans["scope"]["name"] == "agentcli.tracing"
    spans = scope_spans["spans"]
    trace_id = doc["trace"]["trace_id"]
    root = spans[0]
    assert (root["spanId"], root["parentSpanId"], root["name"]) == (trace_id[:16], "", "triage")
    ids = {s["spanId"] for s in spans}
    for span in spans:
        assert span["traceId"] == trace_id and re.fullmatch(r"[0-9a-f]{32}", span["traceId"])
        assert re.fullmatch(r"[0-9a-f]{16}", span["spanId"])
        assert span is root or span["parentSpanId"] in ids
        assert re.fullmatch(r"\d{19}", span["startTimeUnixNano"]) and re.fullmatch(r"\d{19}", span["endTimeUnixNano"])
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])
    by_name = {s["name"]: s for s in spans}
    assert set(by_name) == {
        "triage",
        "turn 1",
        "invoke_agent triage",
        "chat gpt-test",
        "execute_tool get_weather",
    }
    gen = by_name["chat gpt-test"]
    assert gen["kind"] == 3 and gen["status"] == {"code": 1}
    assert gen["startTimeUnixNano"] == str(round(at(3) * 1e9))
    a = _attrs(gen)
    assert a["gen_ai.operation.name"] == ("stringValue", "chat")
    assert a["gen_ai.request.model"] == ("stringValue", "gpt-test")
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (
        ("intValue", "12"),
        ("intValue", "3"),
    )
    assert [e["name"] for e in gen["events"]] == ["retrying"]
    tool = by_name["execute_tool get_weather"]
    a = _attrs(tool)
    assert a["gen_ai.operation.name"] == ("stringValue", "execute_tool")
    assert (a["gen_ai.tool.name"], a["gen_ai.tool.call.id"]) == (
        ("stringValue", "get_weather"),
        ("stringValue", "call_1"),
    )
    assert tool["status"] == {"code": 2, "message": "boom"}
    agent = _attrs(by_name["invoke_agent triage"])
    assert agent["gen_ai.operation.name"] == ("stringValue", "invoke_agent")
    assert agent["gen_ai.agent.name"] == ("stringValue", "triage")
    root_attrs = _attrs(root)
    assert root_attrs["agentcli.group_id"] == ("stringValue", "s1")
    assert root_attrs["agentcli.metadata.model"] == ("stringValue", "gpt-test")
    assert _attrs(by_name["turn 1"])["agentcli.turn.turn"] == ("intValue", "1")
    assert root["status"] == {"code": 1}


class _Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, bytes]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    _Collector.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    yield _Collector.received
    server.shutdown()
    server.server_close()


def test_live_export_sends_the_stored_spans_over_otlp_http(collector: list[tuple[str, str, bytes]]) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra: pip install 'agentcli[otel]'")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    doc = _trace_with_everything()  # close() flushes the batch before returning
    assert collector, "the collector received nothing"
    spans = []
    for path, content_type, body in collector:
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        request = ExportTraceServiceRequest.FromString(body)
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                spans.extend(ss.spans)
    trace_id = doc["trace"]["trace_id"]
    assert {s.trace_id.hex() for s in spans} == {trace_id}
    got = {s.span_id.hex(): s for s in spans}
    expected_ids = {s["span_id"] for s in doc["spans"]} | {trace_id[:16]}
    assert set(got) == expected_ids  # the collector and the local store agree on ids
    for span in doc["spans"]:
        sent = got[span["span_id"]]
        assert sent.parent_span_id.hex() == (span["parent_id"] or trace_id[:16])
        assert sent.start_time_unix_nano == round(span["start"] * 1e9)
        assert sent.end_time_unix_nano == round(span["end"] * 1e9)
    gen = got[next(s["span_id"] for s in doc["spans"] if s["kind"] == "generation")]
    attrs = {kv.key: kv.value for kv in gen.attributes}
    assert gen.name == "chat gpt-test"
    assert attrs["gen_ai.usage.input_tokens"].int_value == 12
    assert attrs["gen_ai.request.model"].string_value == "gpt-test"
    tool = got[next(s["span_id"] for s in doc["spans"] if s["kind"] == "function")]
    assert tool.status.code == 2 and tool.status.message == "boom"
    assert got[trace_id[:16]].name == "triage"


def test_missing_otel_extra_is_one_notice_and_the_run_goes_on(
    collector: list[tuple[str, str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(sys.modules):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # `import opentelemetry` now fails
    monkeypatch.setattr(recorder_module, "_noticed", set())
    first = _trace_with_everything()
    second = _trace_with_everything()
    err = capsys.readouterr().err
    assert err == f"agent: {MISSING_EXTRA}\n"  # once per process, one line
    assert len(first["spans"]) == len(second["spans"]) == 4  # still recorded locally
    assert stored(second["trace"]["trace_id"])["trace"]["status"] == "ok"
    assert collector == []


def test_a_failing_live_exporter_stops_itself_not_local_tracing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Broken:
        def export(self, *args: Any) -> None:
            raise ConnectionError("collector went away")

        def finish(self, *args: Any) -> None:
            raise AssertionError("not called after export failed")

        shutdown = finish

    from agentcli.tracing import otlp_live as live

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(live.LiveExporter, "create", classmethod(lambda cls, *a: Broken()))
    monkeypatch.setattr(recorder_module, "_noticed", set())
    doc = _trace_with_everything()
    assert len(doc["spans"]) == 4 and doc["trace"]["status"] == "ok"
    assert capsys.readouterr().err == "agent: live OTLP export stopped: collector went away\n"


def _json_value(value: dict[str, Any]) -> Any:
    ((kind, v),) = value.items()
    return int(v) if kind == "intValue" else v


def test_live_and_export_send_the_same_spans(collector: list[tuple[str, str, bytes]]) -> None:
    """One mapping: every span, the root included, has the same name, kind, status and attributes live as
    in `agent trace export --format otlp`."""
    pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra: pip install 'agentcli[otel]'")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    doc = _trace_with_everything()
    live = {}
    for _, _, body in collector:
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans:
            for ss in rs.scope_spans:
                for s in ss.spans:
                    attrs = {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in s.attributes}
                    status = {"code": s.status.code} | ({"message": s.status.message} if s.status.message else {})
                    live[s.span_id.hex()] = (s.name, s.kind, status, attrs, s.parent_span_id.hex())
    (scope,) = to_otlp_json(doc["trace"], doc["spans"])["resourceSpans"][0]["scopeSpans"]
    exported = {s["spanId"]: (s["name"], s["kind"], s["status"],
                              {kv["key"]: _json_value(kv["value"]) for kv in s["attributes"]}, s["parentSpanId"])
                for s in scope["spans"]}
    assert set(live) == set(exported) and len(exported) == 5
    for span_id, sent in live.items():
        assert sent == exported[span_id], span_id
    root = exported[doc["trace"]["trace_id"][:16]]
    assert root[3]["agentcli.status"] == "ok" and root[3]["agentcli.trace.turns"] == 1
    assert root[3]["agentcli.trace.input_tokens"] == 12 and root[3]["agentcli.group_id"] == "s1"
