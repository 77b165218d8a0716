"""Server-side sessions: the cookie carries only a random id; the gateway's tokens stay on the server.

One JSON file per session under VAR_DIR/portal-sessions (named by the id's hash, so the directory listing gives
nothing away), shared by the portal's worker processes on one host. The cookie is HttpOnly, SameSite=Lax and
Secure when the request came over HTTPS (or PORTAL_SECURE_COOKIES=1).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from pathlib import Path

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

COOKIE = "portal_session"


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid: str | None = None, new: bool = False):
        def on_update(self):
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid, self.new, self.modified = sid, new, False


class FileSessions(SessionInterface):
    def __init__(self, directory: Path, max_age_seconds: float, secure: bool | None):
        self.directory, self.max_age, self.secure = directory, max_age_seconds, secure
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, sid: str) -> Path:
        return self.directory / hashlib.sha256(sid.encode()).hexdigest()

    def open_session(self, app, request):
        sid = request.cookies.get(COOKIE)
        if sid:
            path = self._path(sid)
            try:
                if time.time() - path.stat().st_mtime < self.max_age:
                    return ServerSession(json.loads(path.read_text()), sid=sid)
                path.unlink(missing_ok=True)
            except (OSError, ValueError):
                pass
        return ServerSession(new=True)

    def save_session(self, app, session: ServerSession, response):
        if not session:
            if session.sid:
                self._path(session.sid).unlink(missing_ok=True)
                response.delete_cookie(COOKIE, path="/")
            return
        if session.sid is None or session.get("_rotate"):
            if session.sid:  # a login: a new id, the old one forgotten (no session fixation)
                self._path(session.sid).unlink(missing_ok=True)
            session.pop("_rotate", None)
            session.sid = secrets.token_urlsafe(32)
        path = self._path(session.sid)
        # One temporary file per thread: two requests of one person at once (a page and its download) each
        # write their own, readable by the owner only from the start, and the last to finish wins.
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(json.dumps(dict(session)))
        temporary.replace(path)
        from flask import request  # the request being answered

        response.set_cookie(
            COOKIE,
            session.sid,
            max_age=int(self.max_age),
            path="/",
            httponly=True,
            samesite="Lax",
            secure=request.is_secure if self.secure is None else self.secure,
        )
        if secrets.randbelow(200) == 0:
            self.purge()

    def purge(self) -> None:
        """Forget the sessions idle for longer than their lifetime."""
        now = time.time()
        for path in self.directory.iterdir():
            try:
                if now - path.stat().st_mtime > self.max_age:
                    path.unlink()
            except OSError:
                pass
