"""The SQL the recorder writes with (kept apart from store.py so the recorder loads without sqlite3)."""

INSERT_TRACE = (
    "INSERT INTO traces (trace_id, workflow, kind, group_id, metadata, content, started, pid, host)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_SPAN = (
    "INSERT OR REPLACE INTO spans"
    " (trace_id, span_id, parent_id, kind, name, t_start, t_end, status, error, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
COUNT_SPAN = (
    "UPDATE traces SET span_count = span_count + 1, turns = turns + ?, input_tokens = input_tokens + ?,"
    " output_tokens = output_tokens + ?, error_count = error_count + ? WHERE trace_id = ?"
)
UPDATE_SPAN_DATA = "UPDATE spans SET data = ? WHERE trace_id = ? AND span_id = ?"
UPDATE_TRACE_META = "UPDATE traces SET metadata = ? WHERE trace_id = ?"
TRACE_ERROR = "UPDATE traces SET error_count = error_count + 1, error = coalesce(error, ?) WHERE trace_id = ?"
END_TRACE = (
    "UPDATE traces SET ended = ?, status = ?, error = coalesce(?, error) WHERE trace_id = ? AND ended IS NULL"
)
