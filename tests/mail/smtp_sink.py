#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd 1.4.6) on loopback that keeps every message.

Started by the integration tests' harness (crates/relata/tests/common/mail.rs).
Each accepted message N becomes two files in --dir: N.json (mail_from,
rcpt_tos) written first, then N.eml (the raw DATA). Both are written to a
temporary name and renamed into place, so a reader that lists *.eml never sees
a half-written message. N counts from 1 in order of arrival.

Options:
  --port P          port on 127.0.0.1 (0: any free port)
  --dir D           where messages go
  --auth USER:PASS  require AUTH (PLAIN or LOGIN); wrong credentials get 535
  --cert F --key F  offer STARTTLS (required before MAIL) with this certificate
  --implicit-tls    with --cert/--key: TLS from the first byte (smtps)
  --fail-first N    answer the first N DATA commands with 451 and keep nothing
  --reject RCPT     answer 550 for this recipient (repeatable)

Prints "READY <port>" on stdout once listening. Exits when its standard input
(if a pipe) reaches end of file, so it never outlives the test process.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import stat
import sys
import threading

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    sys.stderr.write("smtp_sink: aiosmtpd is missing: pip install aiosmtpd==1.4.6\n")
    sys.exit(3)


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Sink:
    def __init__(self, out_dir, fail_first, reject):
        self.out_dir = out_dir
        self.fail_left = fail_first
        self.reject = {r.lower() for r in reject}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: recipient rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 try again later"
        self.count += 1
        n = self.count
        meta = {"mail_from": envelope.mail_from or "", "rcpt_tos": list(envelope.rcpt_tos)}
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        base = os.path.join(self.out_dir, str(n))
        write_atomic(base + ".json", json.dumps(meta).encode("utf-8"))
        write_atomic(base + ".eml", data)
        return "250 2.0.0 OK queued as %d" % n


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == user.encode("utf-8") and auth_data.password == password.encode("utf-8")
        return AuthResult(success=ok, handled=False)

    return authenticator


def watch_stdin():
    """Exit when the parent closes our stdin (or dies)."""
    try:
        if not stat.S_ISFIFO(os.fstat(0).st_mode):
            return
    except OSError:
        return

    def run():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=run, daemon=True).start()


def main():
    p = argparse.ArgumentParser(description="SMTP sink for tests")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--auth")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--reject", action="append", default=[])
    a = p.parse_args()
    if bool(a.cert) != bool(a.key):
        p.error("--cert and --key go together")
    if a.implicit_tls and not a.cert:
        p.error("--implicit-tls needs --cert and --key")
    os.makedirs(a.dir, exist_ok=True)
    # The session log (stderr) goes to the harness's log file.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")

    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)

    kwargs = dict(
        hostname="localhost",
        enable_SMTPUTF8=True,
        decode_data=False,
        # Loopback tests authenticate over plain connections too.
        auth_require_tls=False,
    )
    if a.auth:
        user, sep, password = a.auth.partition(":")
        if not sep:
            p.error("--auth takes USER:PASS")
        kwargs.update(auth_required=True, authenticator=make_authenticator(user, password))
    if tls is not None and not a.implicit_tls:
        kwargs.update(tls_context=tls, require_starttls=True)

    handler = Sink(a.dir, a.fail_first, a.reject)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(handler, loop=loop, **kwargs)

    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=a.port, ssl=tls if a.implicit_tls else None)
    )
    port = server.sockets[0].getsockname()[1]
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    watch_stdin()
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
