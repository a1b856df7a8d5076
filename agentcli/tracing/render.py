"""Human views of traces: the span tree with durations beside a waterfall (bars on one time axis), and the
trace list. Lines are built as (text, style) segments: plain output joins the text (fast enough for
10,000 spans), colour output hands the same segments to Rich."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

Segment = tuple[str, str]  # (text, rich style; "" for none)
Line = list[Segment]

KIND_STYLE = {
    "turn": "bold", "agent": "cyan", "generation": "magenta", "function": "yellow", "handoff": "blue",
    "guardrail": "green", "transcription": "bright_blue", "speech": "bright_cyan",
    "realtime_response": "magenta", "interruption": "bright_red", "user_speech": "bright_green",
    "end_of_turn": "dim",
}
STATUS_STYLE = {"ok": "green", "error": "bold red", "unfinished": "yellow", "running": "cyan",
                "interrupted": "yellow"}


def short(text: Any, limit: int) -> str:
    """One line, at most `limit` characters: whitespace collapsed, the cut marked with an ellipsis."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(int(ms // 1000), 60)
    return f"{minutes}m{seconds:02d}s"


def fmt_when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _text_or_size(data: dict[str, Any], key: str, limit: int, quote: bool = True) -> str | None:
    if key in data:
        return f'"{short(data[key], limit)}"' if quote else short(data[key], limit)
    if f"{key}_chars" in data:
        return f"({data[f'{key}_chars']} chars)"
    return None


def span_details(span: dict[str, Any]) -> str:
    """What matters about a span beyond its kind and name, in a few words."""
    kind, data = span["kind"], span.get("data") or {}
    parts: list[str] = []
    if kind == "turn":
        parts.append(_text_or_size(data, "input", 40) or "")
    elif kind in ("generation", "realtime_response"):
        if data.get("input_tokens") or data.get("output_tokens"):
            parts.append(f"{data.get('input_tokens', 0)}+{data.get('output_tokens', 0)} tok")
        if data.get("ttft_ms") is not None:
            parts.append(f"ttft {fmt_ms(data['ttft_ms'])}")
        if data.get("retries"):
            parts.append(f"{len(data['retries'])} retries")
    elif kind == "function":
        args = _text_or_size(data, "arguments", 40, quote=False) or ""
        out = _text_or_size(data, "output", 40)
        parts.append(f"({args})" + (f" -> {out}" if out else ""))
        if data.get("approved") is False:
            parts.append("refused")
    elif kind == "guardrail":
        parts.append(f"{data.get('stage', 'input')}: {'TRIPPED' if data.get('tripped') else 'passed'}")
    elif kind in ("transcription", "speech"):
        parts.append(_text_or_size(data, "text", 50) or "")
    elif kind == "interruption":
        parts.append(f"heard {fmt_ms(data.get('heard_ms'))}")
    elif kind == "end_of_turn":
        parts.append(data.get("end_of_turn") or "")
        if data.get("turn_model_p") is not None:
            parts.append(f"P(finished) {data['turn_model_p']:.2f}")
    return "  ".join(p for p in parts if p)


def _label(span: dict[str, Any]) -> str:
    return span["name"] if span["kind"] == "turn" else f"{span['kind']} {span['name']}"


def _walk(spans: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str]]:
    """Spans in tree order (children by start time), each with its tree-drawing prefix."""
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:  # spans come sorted by start: children lists are too
        parent = s["parent_id"] if s["parent_id"] in ids else None
        children.setdefault(parent, []).append(s)
    stack: list[tuple[dict[str, Any], str, str]] = [(s, "", "") for s in reversed(children.get(None, []))]
    while stack:
        span, prefix, child_prefix = stack.pop()
        yield span, prefix
        kids = children.get(span["span_id"], [])
        for i, kid in enumerate(reversed(kids)):
            last = i == 0  # reversed: the first pushed is the last shown
            branch, indent = ("└─ ", "   ") if last else ("├─ ", "│  ")
            stack.append((kid, child_prefix + branch, child_prefix + indent))


def trace_lines(doc: dict[str, Any], width: int, ascii_only: bool = False) -> list[Line]:
    trace, spans = doc["trace"], doc["spans"]
    t0 = trace["start"]
    t1 = max([trace["end"] or t0, *(s["end"] for s in spans)])
    total = max(t1 - t0, 1e-9)
    status = trace["status"]
    lines: list[Line] = [
        [("trace ", "bold"), (trace["trace_id"][:8], "bold"),
         (f"  {trace['workflow']} ({trace['kind']})  ", ""), (fmt_when(t0), "dim"),
         (f"  {fmt_ms(total * 1000)}  ", ""), (status, STATUS_STYLE.get(status, ""))],
        [(f"{trace['turns']} turns  {trace['input_tokens']}+{trace['output_tokens']} tokens  "
          f"{len(spans)} spans" + (f"  group {trace['group_id']}" if trace.get("group_id") else "")
          + ("" if trace.get("content", True) else "  (content not recorded)"), "dim")],
    ]
    if trace.get("error"):
        lines.append([(f"error: {trace['error']}", "bold red")])
    if status == "unfinished":
        lines.append([("unfinished: the run stopped without recording its end (crash or kill);"
                       " spans open at that moment are missing", "yellow")])
    block, tick, cross = ("#", "|", "x") if ascii_only else ("█", "▏", "✗")
    rows = []
    for span, prefix in _walk(spans):
        label, details = prefix + _label(span), span_details(span)
        error = f"  {cross} {span['error'] or 'error'}" if span["status"] == "error" else ""
        if span["status"] == "interrupted":
            error = f"  interrupted: {span['error'] or 'by the user'}"
        rows.append((span, label, f"  {details}" if details else "", error))
    cap = max(24, int(width * 0.55))
    label_w = min(max([len(a) + len(b) + len(c) for _, a, b, c in rows] or [10]), cap)
    bar_w = max(10, width - label_w - 13)
    lines.append([])
    lines.append([(f"{'span':<{label_w}} {'duration':>10}  ", "dim"),
                  (f"0{fmt_ms(total * 1000):>{bar_w - 1}}", "dim")])
    scale, last_col, kind_style = bar_w / total, bar_w - 1, KIND_STYLE.get
    for span, label, details, error in rows:
        text = label + details + error
        if len(text) > label_w:  # the error matters more than the details
            text = label + error if error else text
            if len(text) > label_w:
                text = text[: label_w - 1] + "…"
        start_col = int((span["start"] - t0) * scale)
        start_col = start_col if start_col < last_col else last_col
        end_col = round((span["end"] - t0) * scale)
        length = (end_col if end_col < bar_w else bar_w) - start_col
        bar = block * length if length > 0 else tick
        lines.append([(text.ljust(label_w), "bold red" if error else ""),
                      (f" {fmt_ms(span['duration_ms']):>10}  ", "dim"), (" " * start_col, ""),
                      (bar, "red" if error else kind_style(span["kind"], ""))])
    ids = {s["span_id"] for s in spans}
    orphans = sum(1 for s in spans if s["parent_id"] is not None and s["parent_id"] not in ids)
    if orphans:
        lines.append([])
        note = f"{orphans} spans belong to spans that never ended (the run stopped while they were open)"
        lines.append([(note, "yellow")])
    return lines


LIST_COLUMNS = ("id", "when", "agent", "kind", "duration", "turns", "tokens", "status")


def list_rows(traces: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [
        (t["short_id"], fmt_when(t["start"]), t["workflow"], t["kind"], fmt_ms(t["duration_ms"]),
         str(t["turns"]), str(t["input_tokens"] + t["output_tokens"]), t["status"])
        for t in traces
    ]


def plain_table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def fmt(cells: tuple[str, ...]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in pairs)

    return "\n".join(fmt(r).rstrip() for r in [tuple(h.upper() for h in header), *rows])


def plain(lines: list[Line]) -> str:
    return "\n".join("".join(text for text, _ in line).rstrip() for line in lines)
