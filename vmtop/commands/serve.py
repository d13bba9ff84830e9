"""``vmtop serve [PID | --replay FILE]``: the TUI in a web browser, through textual-serve.

textual-serve (the optional extra ``vmtop[web]``) runs one ``python -m vmtop`` per
visitor over a websocket; each sees the whole TUI. It has no authentication, so anyone
who reaches the port sees what the user running vmtop may read: the default address is
127.0.0.1 and any other needs ``--allow-remote``, which prints that warning first.

textual-serve starts the app with ``TEXTUAL_DRIVER`` set to Textual's web driver and no
terminal on stdin/stdout; vmtop's "needs a terminal" check skips itself when
``TEXTUAL_DRIVER`` is set.

Loopback is no boundary against pages in the user's own browser: any page may open a
websocket to ``ws://127.0.0.1:PORT``, and textual-serve took any (review: a page from
another origin, and a local file, read the process list and a memory map). The
websocket is refused unless its ``Origin`` is this server's page's and its ``Host`` a
name of this server (DNS rebinding); see ``served_origins``. The page is sent
``Cache-Control: no-store``: kept in the back/forward cache, a page left for another
kept its websocket, and its vmtop sampling, open until the heartbeat gave up (20 s).

Each visitor's vmtop costs the machine about 50 MB and a read of the process's smaps
every second: there are at most ``--max-visitors`` at once (8). One more is sent a page
that says so, not a session, and the server's terminal says it refused one.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shlex
import socket
import sys
from collections.abc import Callable

INSTALL_HINT = (
    "'vmtop serve' needs textual-serve, which is not installed: "
    "pip install textual-serve, or from vmtop's checkout pip install '.[web]' "
    "(pipx: pipx inject vmtop textual-serve; uv: uv tool install '.[web]')"
)


def add_serve_parser(sub, common: Callable[[argparse.ArgumentParser], None]) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve the TUI to a web browser (needs vmtop[web]; loopback only by default)",
        description="Serve the vmtop TUI to web browsers with textual-serve: one vmtop per "
        "visitor. Listens on 127.0.0.1 unless --allow-remote is given.",
    )
    common(serve)
    serve.add_argument("pid", type=_pid, nargs="?", metavar="PID", help="open this process")
    serve.add_argument(
        "--replay",
        metavar="FILE",
        help="serve the replay of this recording (vmtop record) instead of live processes",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow an address other than loopback (there is no authentication)",
    )
    serve.add_argument(
        "--public-url",
        type=_public_url,
        metavar="URL",
        help="where browsers reach this server, for the page's links and the only "
        "origin, beside localhost's, its sessions are opened for (default: "
        "http://HOST:PORT; for --host 0.0.0.0 or ::, this machine's name), e.g. the "
        "address of a reverse proxy",
    )
    serve.add_argument(
        "--max-visitors",
        type=_visitors,
        default=MAX_VISITORS,
        metavar="N",
        help="at most N visitors at once, each with a vmtop of their own (about 50 MB "
        f"and a read of the process's smaps every second; {MAX_VISITORS}); one more is "
        "told so in the page",
    )


# Visitors at once by default: a class watching one process together, not a crowd.
MAX_VISITORS = 8


def _visitors(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of visitors: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"at least 1 visitor: {text!r}")
    return count


def _pid(text: str) -> int:
    from vmtop.cli import parse_pid

    return parse_pid(text)


def _public_url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text.split("//", 1)[1]) == 0:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL: {text!r}")
    return text.rstrip("/")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (1-65535): {text!r}")
    return port


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses
    )


def unresolved(host: str) -> str | None:
    """Why ``host`` names no address to listen on ("Name or service not known"), or
    None when it names one. (Not to be refused as "not a loopback address", with advice
    to serve it anyway.) An empty one is every address."""
    if not host.strip("[]"):
        return None
    try:
        socket.getaddrinfo(host.strip("[]"), None, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as e:
        return getattr(e, "strerror", None) or str(e)
    return None


def remote_warning(host: str, port: int) -> str:
    user = _user()
    return (
        f"vmtop: WARNING: serving on {host}:{port}, which is not a loopback address. "
        "textual-serve has no authentication: anyone who can reach this port gets a vmtop "
        f"running as {user} and can read the memory maps (every mapped file and library, "
        f"heap and stack layout, command lines) of every process {user} may read."
    )


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, ImportError):
        return f"uid {os.geteuid()}"


def app_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve runs for each visitor."""
    argv = [sys.executable, "-m", "vmtop"]
    proc_root = getattr(args, "proc_root", "/proc")
    if proc_root != "/proc":
        argv += ["--proc-root", os.path.abspath(proc_root)]
    settings = args.settings
    # The visitor's vmtop reads the same config file and environment; pass the
    # settings as resolved so that command-line ones carry over too.
    argv += [
        "--interval",
        repr(settings.interval),
        "--threshold",
        str(settings.threshold),
        "--columns",
        ",".join(settings.columns),
        "--theme",
        settings.theme,
        "--bar-scale",
        settings.bar_scale,
    ]
    if args.replay is not None:
        argv += ["replay", os.path.abspath(args.replay)]
    elif args.pid is not None:
        # A thread's ID was given: the process's PID is, and the notice the TUI shows
        # of it (cli.main) is said on the visitor's screen, not only on the server's.
        for notice in getattr(args, "notice", ()):
            argv += ["--notice", notice]
        argv.append(str(args.pid))
    # exec: the visitor's vmtop is the server's own child, not a shell's, so it sees the
    # server go (its parent changes) and ends, even when the server is killed outright.
    return "exec " + shlex.join(argv)


def cmd_serve(args: argparse.Namespace, settings) -> int:
    args.settings = settings
    unknown = unresolved(args.host)
    if unknown:
        print(f"vmtop: cannot serve on {args.host}: {unknown}", file=sys.stderr)
        return 2
    shown = args.host if args.host.strip("[]") else "every address (--host '')"
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(
                f"vmtop: refusing to serve on {shown}: it is not a loopback address and "
                "textual-serve has no authentication. Use --allow-remote to serve there "
                "anyway (anyone who reaches the port can read the memory maps of every "
                f"process {_user()} may read), or an SSH tunnel to 127.0.0.1.",
                file=sys.stderr,
            )
            return 2
        try:  # (an address that is not this machine's: said alone, with no warning)
            check_can_listen(args.host.strip("[]"), args.port)
        except OSError as e:
            print(f"vmtop: cannot serve on {shown}: {e.strerror or e}", file=sys.stderr)
            return 1
        print(remote_warning(args.host, args.port), file=sys.stderr)
        if not args.public_url:
            where = default_public_url(args.host.strip("[]"), args.port)
            print(
                f"vmtop: the page links to {where}; if browsers reach this machine by "
                "another name, give it with --public-url",
                file=sys.stderr,
            )
    # A setting only the TUI can check (the theme name): say so here, not in the page.
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.app import VmtopApp

    procfs = ProcFS(args.proc_root)
    problem = VmtopApp(procfs, settings=settings).settings_problem()
    if problem:
        print(f"vmtop: {problem}", file=sys.stderr)
        return 2
    if args.replay is not None and args.pid is not None:
        print("vmtop: serve a PID or --replay FILE, not both", file=sys.stderr)
        return 2
    if args.replay is not None:
        # Refused here, with the replay's words, not in every visitor's browser.
        from vmtop.commands.replay import open_recording, print_notes

        print_notes(open_recording(args.replay))  # exits 1 when it is no recording
    elif args.pid is not None:
        # At once, with the CLI's words, not in every visitor's browser.
        from vmtop.procfs.snapshot import check_watchable

        check_watchable(procfs, args.pid)
    try:
        from textual_serve.server import Server
    except ImportError:
        print(f"vmtop: {INSTALL_HINT}", file=sys.stderr)
        return 1
    host = args.host.strip("[]")
    address = f"{url_host(host)}:{args.port}"
    if args.replay is not None:
        title = f"vmtop replay {os.path.basename(args.replay)}"
    else:
        title = f"vmtop {args.pid}" if args.pid is not None else "vmtop"
    # The page's stylesheet, scripts and websocket are absolute URLs made from this; by
    # default textual-serve writes the host as it is, and "http://::1:8000" is no URL.
    public_url = args.public_url or default_public_url(host, args.port)
    pages = offline_templates(Server)
    server = closing_server(Server)(
        app_command(args),
        host=host,
        port=args.port,
        title=title,
        public_url=public_url,
        **({"templates_path": pages.name} if pages is not None else {}),
    )
    server.origins = served_origins(host, args.port, public_url)
    server.max_visitors = args.max_visitors
    try:
        # textual-serve says "Serving ... on URL" before it binds the port: try first.
        check_can_listen(host, args.port)
        server.serve()
    except OSError as e:  # the port is taken, the address is not ours, ...
        print(f"vmtop: cannot serve on {address}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


# How long stopping the server waits for the visitors' vmtops to quit.
QUIT_WAIT = 5.0


def closing_server(server_class):
    """textual-serve's server, ending its visitors' sessions when it is stopped. As it
    is, Ctrl-C or SIGTERM closes the port, then aiohttp waits for the open websockets to
    end (up to its shutdown timeout): half a minute of a server that seems to hang, its
    visitors' vmtops still sampling. Here each session's handler is cancelled at
    shutdown: textual-serve then closes its websocket and tells its vmtop to quit."""
    import asyncio

    from aiohttp import web

    class ClosingServer(server_class):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._sessions: set[asyncio.Task] = set()
            self.origins: frozenset[str] = frozenset()  # none set: any (the tests' own)
            self.max_visitors = MAX_VISITORS

        async def _make_app(self):
            app = await super()._make_app()
            app.on_response_prepare.append(_no_store)
            return app

        async def handle_index(self, request):
            # The page of one visitor too many says why, where the page would only
            # have said "Session ended" once its session was refused.
            if len(self._sessions) >= self.max_visitors:
                return self._full(request, content_type="text/html", page=True)
            return await super().handle_index(request)

        async def handle_websocket(self, request):
            refused = refusal(self.origins, request.headers.get("Origin"), request.host)
            if refused:
                return web.Response(status=403, text=f"vmtop serve: {refused}\n")
            if len(self._sessions) >= self.max_visitors:  # (pages opened at once)
                return self._full(request, content_type="text/plain", page=False)
            task = asyncio.current_task()
            if task is not None:
                self._sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self._sessions.discard(task)

        def _full(self, request, *, content_type: str, page: bool):
            said = visitors_full(self.max_visitors)
            print(f"vmtop: refused a visitor ({request.remote}): {said}", file=sys.stderr)
            text = full_page(said) if page else f"vmtop serve: {said}\n"
            response = web.Response(status=503, text=text, content_type=content_type)
            response.headers["Retry-After"] = "10"
            return response

        async def on_shutdown(self, app) -> None:
            await super().on_shutdown(app)
            sessions = list(self._sessions)
            for task in sessions:
                task.cancel()
            if sessions:
                await asyncio.wait(sessions, timeout=QUIT_WAIT)

    return ClosingServer


def visitors_full(limit: int) -> str:
    """Why one more visitor gets no session."""
    each = "visitor has" if limit == 1 else "visitors have"
    return (
        f"{limit} {each} a session already, the most this server takes at once "
        f"(--max-visitors {limit}): try again when one closes their page, or ask whoever "
        "runs it to raise the limit"
    )


def full_page(said: str) -> str:
    """The page one visitor too many is sent, with a button to try again."""
    import html

    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>vmtop serve: full</title>"
        "<style>body{background:#12232d;color:#eee;font-family:monospace;margin:3em}"
        "button{padding:1em 2em;margin-top:2em}</style></head><body>"
        f"<h1>vmtop serve: no room</h1><p id='why'>{html.escape(said)}</p>"
        "<button onclick='location.reload()'>Try again</button></body></html>"
    )


_WEB_FONT = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>\s*", re.S)


def offline_templates(server_class):
    """textual-serve's page template without its stylesheet from fonts.googleapis.com,
    in a temporary folder (gone with the returned object), or None where it has no such
    link. The page told Google it was opened, and on a network that drops that traffic
    stayed blank for 31 s (review); the terminal's font falls back to the page's next,
    monospace."""
    import inspect
    import tempfile
    from pathlib import Path

    try:
        page = Path(inspect.getfile(server_class)).with_name("templates") / "app_index.html"
        text = page.read_text()
    except (OSError, TypeError):
        return None
    if not _WEB_FONT.search(text):
        return None
    folder = tempfile.TemporaryDirectory(prefix="vmtop-serve-")
    (Path(folder.name) / page.name).write_text(_WEB_FONT.sub("", text))
    return folder


async def _no_store(request, response) -> None:
    """The page is not kept in the back/forward cache (its websocket open, its vmtop
    sampling, after the visitor left for another page)."""
    if request.path == "/":
        response.headers["Cache-Control"] = "no-store"


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def served_origins(host: str, port: int, public_url: str) -> frozenset[str]:
    """The origins ("http://127.0.0.1:8000") this server's page is opened from: its
    public URL's, and where it listens on a loopback address or every address, the
    loopback names at its port (a page opened as http://localhost:8000)."""
    origins = {origin_of(public_url)}
    if host in ("", "0.0.0.0", "::") or is_loopback(host):
        origins.update(f"http://{name}:{port}" for name in LOOPBACK_NAMES)
    return frozenset(o for o in origins if o)


def origin_of(url: str) -> str:
    """``url``'s origin with its port said ("http://example.com:80"), lower case; "" for
    no http(s) URL (a page from a file: "null")."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return ""
    return f"{parts.scheme}://{url_host(parts.hostname)}:{port}"


def refusal(origins: frozenset[str], origin: str | None, host: str) -> str | None:
    """Why a websocket from a page of ``origin`` sent to ``host`` (its Host header) is
    refused, or None. No ``origins``: nothing is checked."""
    if not origins:
        return None
    said = origin_of(origin or "")
    if said not in origins:
        return (
            f"refused a session from a page of {origin or 'no origin'}: not this "
            "server's page (if browsers reach it by another name, give that name with "
            "--public-url)"
        )
    # (Its name and port only: a reverse proxy may pass on its own, or the server's.)
    sent_to = origin_of(f"{said.split('://', 1)[0]}://{host}").split("://")[-1]
    if sent_to not in {o.split("://", 1)[1] for o in origins}:
        return f"refused a session sent to {host}: not a name of this server"
    return None


def default_public_url(host: str, port: int) -> str:
    """The address the page links to: the host served on, or for every address (0.0.0.0,
    ::) this machine's name, which a browser elsewhere can reach; "0.0.0.0" in the
    page's links sends the browser to its own machine."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return f"http://{url_host(host)}:{port}"


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def check_can_listen(host: str, port: int) -> None:
    """Raise the OSError that listening on ``host``:``port`` would, by binding every
    address it names as aiohttp will (asyncio's create_server: SO_REUSEADDR, IPv6
    sockets IPv6-only) and closing them again. With SO_REUSEADDR a port held only by
    closed connections (TIME_WAIT) passes, as it does for the server; a listening socket
    fails. Another program could still take the port in the moment between; the server
    then fails as before, after its "Serving" line."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
            listener = socket.socket(family, kind, proto)
            sockets.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            listener.bind(sockaddr)
    finally:
        for listener in sockets:
            listener.close()
