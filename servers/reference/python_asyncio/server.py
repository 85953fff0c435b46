"""The lab's service contract (docs/service-contract.md) on aiohttp and uvloop.

One asyncio event loop per process and `--threads` processes: the GIL lets one Python thread
run at a time, so a Python service uses more than one CPU the way it is deployed, with more
processes. Each process listens on its own SO_REUSEPORT socket (all bound by the first
process before it forks, so every one listens before the listening line is printed) and the
kernel spreads new connections across them. aiohttp's low-level `web.Server` takes every
request: the contract routes on the raw request target, which aiohttp's router would decode.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
from urllib.parse import unquote_to_bytes

import aiohttp
import uvloop
from aiohttp import web

MAX_HEADER_SECTION = 8192  # request line + headers + blank line, in bytes
MAX_BODY = 1024 * 1024
MAX_COMPUTE_N = 10_000_000
MAX_SLEEP_MS = 60_000
MAX_FANOUT = 64
MAX_DEADLINE_MS = 600_000
MAX_CALL_BODY = 4096  # a /delay answer is ~20 bytes; anything longer is not one
SERVER_NAME = "concurrency-lab"
ERROR_TEXT = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}
MALFORMED_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
ROUTES = ("/plaintext", "/json", "/compute", "/sleep", "/gateway")


def compute(n):
    """n steps of Marsaglia's xorshift32 from the contract's seed, masked to 32 bits."""
    x = 2463534242
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
    return x


def first_query_value(query, name):
    """The form-decoded bytes of the first pair in the raw query whose raw name is `name`;
    None if there is none, it has no '=', or its value has a malformed %-escape. This is the
    contract's rule ("Query parameters"); urllib.parse.parse_qs and aiohttp's request.query
    decode names and keep a malformed escape as text."""
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if key != name:
            continue
        if not eq or MALFORMED_ESCAPE.search(value):
            return None
        return unquote_to_bytes(value.replace("+", " "))
    return None


def has_query_name(query, name):
    """Whether any pair of the raw query has the raw name `name`."""
    return any(pair.partition("=")[0] == name for pair in query.split("&"))


def bounded_param(query, name, maximum):
    """A value of one or more ASCII digits, at most `maximum`; otherwise None. Python's
    integers do not overflow, so a long value is compared exactly."""
    value = first_query_value(query, name)
    if not value or not all(0x30 <= b <= 0x39 for b in value):
        return None
    number = int(value)
    return number if number <= maximum else None


def reply(status, content_type, body, close_after=False):
    response = web.Response(status=status, body=body.encode(), content_type=content_type,
                            headers={"Server": SERVER_NAME})
    if close_after:
        response.force_close()  # aiohttp then sends Connection: close and closes after it
    return response


def reply_error(status, close_after=False):
    response = reply(status, "text/plain", ERROR_TEXT[status], close_after)
    if status == 405:
        response.headers["Allow"] = "GET, HEAD"
    return response


def header_section_size(request):
    """The request line and headers as the client sent them: aiohttp limits each line to
    8190 bytes but not their sum, so the contract's 8192-byte limit is checked here."""
    version = "HTTP/%d.%d" % request.version
    size = len(request.method) + 1 + len(request.raw_path) + 1 + len(version) + 2
    size += sum(len(name) + 2 + len(value) + 2 for name, value in request.raw_headers)
    return size + 2


class CallFailed(Exception):
    """A downstream call was refused, broken, not 200 or not {"i":..,"ms":..}: 502."""


class Downstream:
    """The service /gateway calls, through one ClientSession per process. Its TCPConnector's
    `limit` bounds the connections open at once; a call that finds none free waits inside the
    connector for one (inside its request's deadline). Finished connections are kept alive."""

    def __init__(self, address, pool):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536 or pool < 1:
            raise ValueError("--downstream needs HOST:PORT and --downstream-pool at least 1")
        self.base = f"http://{address}"
        self.pool = pool
        self.session = None  # created on the running loop (start)

    async def start(self):
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.pool),
            timeout=aiohttp.ClientTimeout(total=None),  # the request's deadline is the limit
            auto_decompress=False)

    async def call(self, i, ms):
        """GET /delay?ms=ms&i=i; returns {"i", "ms"}. Cancelled (deadline, another call
        failed, the client left), aiohttp closes its connection rather than pooling it."""
        try:
            async with self.session.get(f"{self.base}/delay?ms={ms}&i={i}") as response:
                body = await response.content.read(MAX_CALL_BODY + 1)
                while len(body) <= MAX_CALL_BODY and not response.content.at_eof():
                    more = await response.content.read(MAX_CALL_BODY + 1 - len(body))
                    if not more:
                        break
                    body += more
                if response.status != 200 or len(body) > MAX_CALL_BODY:
                    raise CallFailed()
                answer = json.loads(body)
        except (aiohttp.ClientError, OSError, ValueError) as error:
            raise CallFailed() from error
        if not isinstance(answer, dict):
            raise CallFailed()
        call_i, call_ms = answer.get("i"), answer.get("ms")
        if type(call_i) is not int or type(call_ms) is not int:
            raise CallFailed()
        return {"i": call_i, "ms": call_ms}

    async def fan_out(self, fanout, ms, sequential):
        """The calls 0..fanout-1, one after another or all at once in a TaskGroup (the first
        failure cancels the others); their answers in index order."""
        if sequential:
            return [await self.call(i, ms) for i in range(fanout)]
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.call(i, ms)) for i in range(fanout)]
        except ExceptionGroup as failures:
            raise CallFailed() from failures
        return [task.result() for task in tasks]


async def gateway(query, downstream):
    fanout = bounded_param(query, "fanout", MAX_FANOUT)
    ms = bounded_param(query, "ms", MAX_SLEEP_MS)
    if not fanout or ms is None:
        return reply_error(400)
    mode = "parallel"
    if has_query_name(query, "mode"):
        mode = (first_query_value(query, "mode") or b"").decode("latin-1")
        if mode not in ("parallel", "sequential"):
            return reply_error(400)
    deadline = None
    if has_query_name(query, "deadline_ms"):
        deadline_ms = bounded_param(query, "deadline_ms", MAX_DEADLINE_MS)
        if not deadline_ms:
            return reply_error(400)
        deadline = deadline_ms / 1000
    if downstream is None:
        return reply_error(502)
    try:
        async with asyncio.timeout(deadline):  # None: no deadline
            calls = await downstream.fan_out(fanout, ms, mode == "sequential")
    except TimeoutError:
        return reply_error(504)
    except CallFailed:
        return reply_error(502)
    body = json.dumps({"fanout": fanout, "mode": mode, "calls": calls}, separators=(",", ":"))
    return reply(200, "application/json", body)


async def drain_body(request):
    """Reads and drops a body of up to 1 MiB, so the next pipelined request stays framed;
    False (after which the answer is 413 + close) when it is larger."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return False
    received = 0
    while chunk := await request.content.readany():
        received += len(chunk)
        if received > MAX_BODY:
            return False
    return True


def make_handler(downstream):
    async def handle(request):
        # The raw target split at its first '?': request.path would be decoded and lose a
        # '#...' part, and the contract compares the path byte for byte ("Paths").
        path, _, query = request.raw_path.partition("?")
        if not path.startswith("/") or MALFORMED_ESCAPE.search(path):
            return reply_error(400, close_after=True)  # not origin-form
        if header_section_size(request) > MAX_HEADER_SECTION:
            return reply_error(431, close_after=True)
        if not await drain_body(request):
            return reply_error(413, close_after=True)
        if path not in ROUTES:
            return reply_error(404)
        if request.method not in ("GET", "HEAD"):
            return reply_error(405)
        if path == "/plaintext":
            return reply(200, "text/plain", "Hello, World!")
        if path == "/json":
            return reply(200, "application/json",
                         json.dumps({"message": "Hello, World!"}, separators=(",", ":")))
        if path == "/compute":
            n = bounded_param(query, "n", MAX_COMPUTE_N)
            if n is None:
                return reply_error(400)
            # On the event loop: this process serves nothing else until it is done.
            return reply(200, "text/plain", str(compute(n)))
        if path == "/sleep":
            ms = bounded_param(query, "ms", MAX_SLEEP_MS)
            if ms is None:
                return reply_error(400)
            await asyncio.sleep(ms / 1000)  # a timer: the loop serves others meanwhile
            return reply(200, "text/plain", str(ms))
        return await gateway(query, downstream)

    return handle


async def serve(sock, options, on_ready=lambda: None):
    """Serves on `sock` until SIGINT or SIGTERM, then closes every connection. `on_ready` runs
    once the signal handlers are in place (a SIGTERM before that would kill the process)."""
    downstream = None
    if options.downstream:
        downstream = Downstream(options.downstream, options.downstream_pool)
        await downstream.start()
    # lingering_time=0: a body the handler did not read (over 1 MiB: 413 + close) is not
    # drained for up to 10 s before the close, as aiohttp would by default.
    # max_headers: aiohttp's default of 128 header lines would refuse a section the contract
    # accepts (8192 bytes hold up to 2048 four-byte lines); the handler checks the byte total.
    server = web.Server(make_handler(downstream), keepalive_timeout=options.idle_timeout,
                        lingering_time=0, max_headers=MAX_HEADER_SECTION // 4)
    runner = web.ServerRunner(server, handle_signals=False)
    await runner.setup()
    # A /sleep in flight gets a second to finish at shutdown, then it is cancelled.
    await web.SockSite(runner, sock, shutdown_timeout=1.0).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    on_ready()
    await stop.wait()
    await runner.cleanup()
    if downstream:
        await downstream.session.close()


def listening_sockets(host, port, count):
    """`count` sockets listening on one address with SO_REUSEPORT (port 0: the first one's)."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        port = sock.getsockname()[1]
        sock.listen(1024)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def parse_options(argv):
    parser = argparse.ArgumentParser(
        prog="python_asyncio",
        description="The lab's service contract on aiohttp + uvloop, one process per thread.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=1,
                        help="processes, each one single-threaded event loop")
    parser.add_argument("--idle-timeout", type=int, default=30,
                        help="seconds a keep-alive connection may wait for its next request")
    parser.add_argument("--downstream", default="",
                        help="HOST:PORT of the service /gateway calls (none: /gateway answers 502)")
    parser.add_argument("--downstream-pool", type=int, default=256,
                        help="most connections open to the downstream at once, per process")
    options = parser.parse_args(argv)
    if options.downstream:
        try:
            Downstream(options.downstream, options.downstream_pool)
        except ValueError as error:
            parser.error(str(error))
    return options


def main(argv):
    options = parse_options(argv)
    processes = max(1, options.threads)
    try:
        sockets = listening_sockets(options.host, options.port, processes)
    except OSError as error:
        print(f"python_asyncio: cannot listen on {options.host}:{options.port}: {error}",
              file=sys.stderr)
        return 1
    host, port = sockets[0].getsockname()[:2]

    # Fork before any event loop exists; each child keeps one socket and serves it.
    children = []
    for sock in sockets[1:]:
        pid = os.fork()
        if pid == 0:
            exit_code = 1
            try:  # never return into the parent's code
                for other in sockets:
                    if other is not sock:
                        other.close()
                uvloop.install()
                asyncio.run(serve(sock, options))
                exit_code = 0
            finally:
                os._exit(exit_code)
        children.append(pid)
    for sock in sockets[1:]:
        sock.close()

    def say_listening():
        # "threads" as every server says it (the harness reads this line): here, processes.
        print(f"listening on {host}:{port} (event_loop, {processes} threads)", flush=True)

    uvloop.install()
    asyncio.run(serve(sockets[0], options, say_listening))
    # Stopped by SIGINT/SIGTERM: stop the other processes too (a terminal's SIGINT reached
    # them already; a second one is harmless) and wait for them.
    status = 0
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in children:
        _, child_status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(child_status) not in (0, -signal.SIGTERM):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
