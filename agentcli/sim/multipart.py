"""multipart/form-data bodies (audio uploads): fields as strings, files as UploadedFile."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agentcli.sim.http import HttpError, Request

_PARAM = re.compile(r';\s*([\w\-]+)="?([^";]*)"?')


@dataclass(slots=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes

    @property
    def summary(self) -> dict[str, Any]:
        """What the server records in `requests`: never the bytes themselves."""
        return {"filename": self.filename, "content_type": self.content_type, "bytes": len(self.data)}


def _params(header: str) -> dict[str, str]:
    return {k.lower(): v for k, v in _PARAM.findall(header)}


def parse_form(request: Request) -> dict[str, Any]:
    """Field name -> str, UploadedFile, or a list of strings for repeated names (`include[]`)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise HttpError(400, "Expected a multipart/form-data body.")
    boundary = _params(content_type).get("boundary")
    if not boundary:
        raise HttpError(400, "Missing multipart boundary.")
    fields: dict[str, Any] = {}
    for part in request.body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, sep, value = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise HttpError(400, "Malformed multipart body.")
        value = value.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, rest = line.partition(":")
            headers[name.strip().lower()] = rest.strip()
        disposition = _params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if not name:
            continue
        if "filename" in disposition:
            fields[name] = UploadedFile(
                disposition["filename"], headers.get("content-type", "application/octet-stream"), value
            )
        elif name.endswith("[]"):
            fields.setdefault(name, []).append(value.decode("utf-8", "replace"))
        else:
            fields[name] = value.decode("utf-8", "replace")
    return fields
