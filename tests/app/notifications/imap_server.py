"""A small IMAP4rev1 server on loopback, standing in for the customer's mail provider.

It speaks exactly what the poller uses: CAPABILITY, LOGIN, SELECT, UID SEARCH (UNSEEN or ALL),
UID FETCH (BODY.PEEK[] UID FLAGS RFC822.SIZE), UID STORE +FLAGS (\\Seen), EXPUNGE, NOOP and LOGOUT.
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    user: str = "support"
    password: str = "secret"  # noqa: S105 - a test mailbox on loopback
    messages: list[bytes] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)  # UIDs (1-based index into messages)
    logins: int = 0


def serve(mailbox: Mailbox) -> Iterator[int]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, line: bytes) -> None:
            self.wfile.write(line + b"\r\n")

        def handle(self) -> None:
            self.send(b"* OK IMAP4rev1 test server ready")
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                tag, _, rest = raw.strip().partition(b" ")
                command, _, args = rest.partition(b" ")
                name = command.upper()
                if name == b"UID":
                    sub, _, args = args.partition(b" ")
                    name = b"UID " + sub.upper()
                if name == b"CAPABILITY":
                    self.send(b"* CAPABILITY IMAP4rev1")
                elif name == b"LOGIN":
                    user, password = (part.strip(b'"') for part in args.split(b" ", 1))
                    if (user.decode(), password.decode()) != (mailbox.user, mailbox.password):
                        self.send(tag + b" NO [AUTHENTICATIONFAILED] wrong user or password")
                        continue
                    mailbox.logins += 1
                elif name == b"SELECT":
                    self.send(b"* %d EXISTS" % len(mailbox.messages))
                    self.send(b"* OK [UIDVALIDITY 1] UIDs valid")
                    self.send(tag + b" OK [READ-WRITE] SELECT completed")
                    continue
                elif name == b"UID SEARCH":
                    uids = range(1, len(mailbox.messages) + 1)
                    if b"UNSEEN" in args.upper():
                        uids = [u for u in uids if u not in mailbox.seen]  # type: ignore[assignment]
                    self.send(b"* SEARCH" + b"".join(b" %d" % u for u in uids))
                elif name == b"UID FETCH":
                    wanted = [int(u) for u in args.split(b" ", 1)[0].split(b",")]
                    for uid in wanted:
                        body = mailbox.messages[uid - 1]
                        flags = b"\\Seen" if uid in mailbox.seen else b""
                        self.wfile.write(
                            b"* %d FETCH (UID %d FLAGS (%s) RFC822.SIZE %d BODY[] {%d}\r\n"
                            % (uid, uid, flags, len(body), len(body))
                        )
                        self.wfile.write(body + b")\r\n")
                elif name == b"UID STORE":
                    uid_text = args.split(b" ", 1)[0]
                    for uid in re.findall(rb"\d+", uid_text):
                        if b"\\SEEN" in args.upper():
                            mailbox.seen.add(int(uid))
                elif name == b"LOGOUT":
                    self.send(b"* BYE logging out")
                    self.send(tag + b" OK LOGOUT completed")
                    return
                elif name not in (b"NOOP", b"CLOSE", b"EXPUNGE"):
                    self.send(tag + b" BAD unknown command")
                    continue
                self.send(tag + b" OK " + name + b" completed")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
