"""A minimal Language Server Protocol client over stdio, for driving yaml-language-server in tests.

JSON-RPC 2.0 messages framed by ``Content-Length`` headers (LSP's base protocol). The client answers the
requests the server sends (``workspace/configuration`` with the given settings, registrations, progress)
and keeps the last ``textDocument/publishDiagnostics`` of every document.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO


class LspError(RuntimeError):
    """The server answered with an error, exited, or did not answer in time."""


class LspClient:
    """One language server process: ``request``, ``notify``, and documents' diagnostics."""

    def __init__(self, command: Sequence[str], *, settings: Mapping[str, Any], root: Path, timeout: float = 60):
        self.settings = dict(settings)
        self.timeout = timeout
        self._process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._next_id = 0
        self._lock = threading.Lock()
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._diagnostics: dict[str, list[dict[str, Any]]] = {}
        self._published = threading.Condition()
        self._stderr: list[bytes] = []
        assert self._process.stdout is not None and self._process.stderr is not None
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self._process.stderr,), daemon=True).start()
        self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": True}},
                    "textDocument": {
                        "completion": {"completionItem": {"snippetSupport": True, "documentationFormat": ["markdown"]}},
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"relatedInformation": True},
                    },
                },
                "initializationOptions": {},
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    # -- protocol ------------------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        stdin = self._process.stdin
        assert stdin is not None
        with self._lock:
            stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            stdin.flush()

    def _drain(self, stream: BinaryIO) -> None:
        for line in stream:
            self._stderr.append(line)

    def _read(self, stream: BinaryIO) -> None:
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                key, _, value = line.decode().partition(":")
                headers[key.strip().lower()] = value.strip()
            message = json.loads(stream.read(int(headers["content-length"])))
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message and "method" in message:  # a request from the server
            self._send({"id": message["id"], "result": self._answer(message["method"], message.get("params"))})
        elif "id" in message:
            waiting = self._responses.get(message["id"])
            if waiting is not None:
                waiting.put(message)
        elif message.get("method") == "textDocument/publishDiagnostics":
            with self._published:
                self._diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]
                self._published.notify_all()

    def _answer(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            return [self.settings.get(item.get("section", ""), None) for item in params["items"]]
        return None  # client/registerCapability, window/workDoneProgress/create, ...

    def request(self, method: str, params: Any) -> Any:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        waiting: queue.Queue[dict[str, Any]] = queue.Queue()
        self._responses[ident] = waiting
        self._send({"id": ident, "method": method, "params": params})
        try:
            response = waiting.get(timeout=self.timeout)
        except queue.Empty:
            raise LspError(f"no answer to {method} within {self.timeout:g} s{self._exit_note()}") from None
        finally:
            del self._responses[ident]
        if "error" in response:
            raise LspError(f"{method}: {response['error']}")
        return response.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def _exit_note(self) -> str:
        if self._process.poll() is None:
            return ""
        return f" (the server exited with {self._process.returncode}: {b''.join(self._stderr).decode()[-2000:]})"

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self._process.wait(timeout=10)
        except (LspError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()

    # -- documents -----------------------------------------------------------------------------------------

    def open(self, path: Path, text: str | None = None) -> str:
        """Open ``path`` (with ``text``, or the file's content) and return its URI; diagnostics follow."""
        uri = path.as_uri()
        with self._published:
            self._diagnostics.pop(uri, None)
        content = path.read_text() if text is None else text
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": content}},
        )
        return uri

    def close_document(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def diagnostics(self, uri: str) -> list[dict[str, Any]]:
        """The diagnostics the server published for ``uri`` after it was opened (waits for them)."""
        deadline = time.monotonic() + self.timeout
        with self._published:
            while uri not in self._diagnostics:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LspError(f"no diagnostics for {uri} within {self.timeout:g} s{self._exit_note()}")
                self._published.wait(left)
            return self._diagnostics[uri]

    def completion(self, uri: str, line: int, character: int) -> list[dict[str, Any]]:
        result = self.request(
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )
        if result is None:
            return []
        items: list[dict[str, Any]] = result["items"] if isinstance(result, dict) else result
        return items

    def hover(self, uri: str, line: int, character: int) -> str | None:
        """The hover text (markdown) at a position, or ``None``."""
        result = self.request(
            "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
        )
        if not result:
            return None
        contents = result["contents"]
        if isinstance(contents, dict):
            return str(contents["value"])
        if isinstance(contents, list):
            return "\n".join(c if isinstance(c, str) else c["value"] for c in contents)
        return str(contents)
