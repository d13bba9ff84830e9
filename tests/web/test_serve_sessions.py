"""A visitor's vmtop ends with the server that started it.

textual-serve runs one vmtop per browser session. Killed outright (kill -9, the OOM
killer), the server left them running, orphaned, sampling /proc every second for
nobody; stopped with Ctrl-C or SIGTERM it seemed to hang for half a minute, waiting for
the open websockets, its visitors' vmtops still running. A session is opened here with
a plain websocket client, as the page's script does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import psutil
import pytest

from .test_serve_browser import server_process

aiohttp = pytest.importorskip("aiohttp")


def open_session(url: str, server_pid: int, until: bytes = b"COMMAND"):
    """Open a session as the page does, on a thread of its own that reads on (as a
    browser does: it answers the server's closing handshake); wait until the server's
    vmtop has drawn. Returns (the thread's loop, the session, the vmtop's Process)."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    session = asyncio.run_coroutine_threadsafe(_connect(url, until), loop).result(60)
    asyncio.run_coroutine_threadsafe(_read_on(session[1]), loop)
    children = [
        p
        for p in psutil.Process(server_pid).children(recursive=True)
        if "vmtop" in " ".join(p.cmdline())
    ]
    assert children, "the server started no vmtop for the session"
    (child,) = children
    assert child.ppid() == server_pid, "the visitor's vmtop is the server's own child"
    return loop, session, child


async def _connect(url: str, until: bytes):
    client = aiohttp.ClientSession()
    # The page's Origin, as a browser sends it (the server refuses any other).
    ws = await client.ws_connect(
        url.replace("http://", "ws://") + "ws?width=80&height=24", origin=url.rstrip("/")
    )
    await ws.send_json(["resize", {"width": 80, "height": 24}])  # as the page does
    # The app draws: the picker's column title comes (or what ``until`` says).
    drawn = b""
    deadline = time.monotonic() + 30
    while until not in drawn:
        assert time.monotonic() < deadline, f"the app did not draw {until!r}"
        message = await asyncio.wait_for(ws.receive(), 30)
        if isinstance(message.data, bytes):
            drawn += message.data
    return client, ws, drawn


async def _read_on(ws) -> None:
    while not ws.closed:
        await ws.receive()


def gone_within(process: psutil.Process, seconds: float) -> bool:
    try:
        process.wait(seconds)
    except psutil.TimeoutExpired:
        return False
    return True


def close(loop, session) -> None:
    client, ws, _ = session

    async def closing() -> None:
        await ws.close()
        await client.close()

    asyncio.run_coroutine_threadsafe(closing(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)


@pytest.mark.slow
def test_a_server_killed_outright_takes_its_visitors_vmtops_with_it(tmp_path):
    with server_process(tmp_path) as (url, server):
        loop, session, child = open_session(url, server.pid)
        try:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(10)
            assert gone_within(child, 10), "the visitor's vmtop outlived its server"
        finally:
            if child.is_running():
                child.kill()
            close(loop, session)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_the_server_ends_its_sessions_at_once(tmp_path, sig):
    with server_process(tmp_path) as (url, server):
        loop, session, child = open_session(url, server.pid)
        try:
            t0 = time.monotonic()
            os.kill(server.pid, sig)
            server.wait(30)
            stopped = time.monotonic() - t0
            assert stopped < 8, f"the server took {stopped:.1f} s to stop"
            assert gone_within(child, 3), "the visitor's vmtop outlived its server"
        finally:
            if child.is_running():
                child.kill()
            close(loop, session)


def test_a_recording_is_served_as_its_replay(tmp_path):
    """`vmtop serve --replay FILE`: each visitor gets the replay (a lecture, a bug
    report read in a browser); it could not be served before."""
    import subprocess
    import sys

    from .test_serve_browser import TUI_PROC

    recording = tmp_path / "r.jsonl.gz"
    subprocess.run(
        [sys.executable, "-m", "vmtop", "--proc-root", str(TUI_PROC), "record", "4242"]
        + ["-o", str(recording)],
        check=True,
        capture_output=True,
    )
    with server_process(tmp_path, "127.0.0.1", "--replay", str(recording)) as (url, server):
        loop, session, child = open_session(url, server.pid, until=b"sample 1/1")
        try:
            assert child.cmdline()[-2:] == ["replay", str(recording)]
        finally:
            close(loop, session)


def test_serve_refuses_what_is_no_recording_before_serving(tmp_path):
    import subprocess
    import sys

    (tmp_path / "x").write_text("not a recording\n")
    for args, status in (
        (["--replay", str(tmp_path / "nowhere")], 1),
        (["--replay", str(tmp_path / "x")], 1),
        (["4242", "--replay", str(tmp_path / "x")], 2),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "vmtop", "serve", *args, "--port", "1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == status, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and "Serving" not in result.stdout


# -- who may open a session -------------------------------------------------------------


def handshake(url: str, headers: dict[str, str]) -> tuple[int, str]:
    """The status of a websocket handshake with ``headers`` (and its body, refused)."""

    async def go() -> tuple[int, str]:
        async with aiohttp.ClientSession() as client:
            try:
                ws = await client.ws_connect(
                    url.replace("http://", "ws://") + "ws?width=80&height=24",
                    headers=headers,
                )
            except aiohttp.WSServerHandshakeError as e:
                return e.status, e.message
            await ws.close()
            return 101, ""

    return asyncio.run(go())


@pytest.mark.slow
def test_a_page_of_another_origin_opens_no_session(tmp_path):
    # Review: a page from http://127.0.0.1:9200 and a local file (Origin "null") each
    # opened a session, typed "/target.py" and read its memory map. Loopback keeps
    # other machines out, not other pages in the user's own browser.
    with server_process(tmp_path) as (url, proc):
        own = url.rstrip("/")
        port = own.rsplit(":", 1)[1]
        for origin in ("http://127.0.0.1:9200", "null", "https://evil.example.com"):
            assert handshake(url, {"Origin": origin})[0] == 403, origin
        assert handshake(url, {})[0] == 403  # no Origin: no page of this server's
        # DNS rebinding: the attacker's name resolved to 127.0.0.1; the page's origin
        # and the Host the browser sends are both that name.
        rebound = {"Origin": f"http://evil.example.com:{port}", "Host": f"evil.example.com:{port}"}
        assert handshake(url, rebound)[0] == 403
        # The page's own origin, and the same server reached as localhost, are served.
        assert handshake(url, {"Origin": own})[0] == 101
        assert handshake(url, {"Origin": f"http://localhost:{port}"})[0] == 101


def test_which_pages_and_names_are_this_servers():
    from vmtop.commands.serve import refusal, served_origins

    local = served_origins("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert refusal(local, "http://localhost:8000", "127.0.0.1:8000") is None
    assert refusal(local, "http://[::1]:8000", "[::1]:8000") is None
    why = refusal(local, "http://127.0.0.1:9200", "127.0.0.1:8000")
    assert why and "not this server's page" in why and "--public-url" in why
    assert refusal(local, "null", "127.0.0.1:8000")  # a page from a file
    assert refusal(local, "http://127.0.0.1:8000", "evil.example.com:8000")  # rebound
    # Behind a reverse proxy: its origin; the Host it passes on, its own or the server's.
    proxied = served_origins("127.0.0.1", 8000, "https://vm.example.com/")
    assert refusal(proxied, "https://vm.example.com", "vm.example.com") is None
    assert refusal(proxied, "https://vm.example.com", "127.0.0.1:8000") is None
    assert refusal(proxied, "https://evil.example.com", "vm.example.com")
    # Served on every address: the name it links to, and loopback on this machine.
    remote = served_origins("0.0.0.0", 8000, "http://box:8000")
    assert refusal(remote, "http://box:8000", "box:8000") is None
    assert refusal(remote, "http://localhost:8000", "localhost:8000") is None
    assert refusal(remote, "http://10.0.0.7:8000", "10.0.0.7:8000")  # use --public-url


def test_the_page_is_not_kept_in_the_back_forward_cache(tmp_path):
    # Kept there, a page left for another kept its websocket open, and its vmtop
    # sampling the process, until the heartbeat gave up 20 s later (review).
    import urllib.request

    with server_process(tmp_path) as (url, _proc):
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers.get("Cache-Control") == "no-store"


@pytest.mark.slow
def test_a_session_for_a_process_gone_since_says_so_in_the_page(tmp_path):
    # The served process exited after the server started: each visitor's vmtop ended
    # at once, its error in the server's terminal, the page on its loading card for
    # good (review).
    import subprocess
    import sys

    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with server_process(tmp_path, "127.0.0.1", str(target.pid), proc_root="/proc") as (
            url,
            proc,
        ):
            target.kill()
            target.wait()
            loop, session, child = open_session(url, proc.pid, until=b"Reload")
            drawn = session[2]
            close(loop, session)
    finally:
        if target.poll() is None:
            target.kill()
    assert b"Reload the page" in drawn and str(target.pid).encode() in drawn, drawn[-2000:]


def test_the_page_loads_nothing_from_other_sites(tmp_path):
    # textual-serve's page took its font from fonts.googleapis.com: Google told of every
    # page opened, and a network that drops that traffic left it blank for 31 s.
    import re
    import urllib.request

    with server_process(tmp_path) as (url, _proc):
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
    assert "textual.js" in page and "googleapis" not in page
    elsewhere = re.findall(r'(?:href|src)="(https?://[^"]+)"', page)
    assert all(link.startswith(url.rstrip("/")) for link in elsewhere), elsewhere


@pytest.mark.slow
def test_a_visitors_vmtop_is_out_of_the_terminals_process_group(tmp_path):
    # Ctrl-C in the server's terminal went to the visitors' vmtops too, which printed
    # their KeyboardInterrupt tracebacks there (review); the server ends them itself.
    with server_process(tmp_path) as (url, proc):
        loop, session, child = open_session(url, proc.pid)
        try:
            assert os.getpgid(child.pid) != os.getpgid(proc.pid)
            assert os.getsid(child.pid) == child.pid
        finally:
            close(loop, session)


# -- how many visitors at once ----------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def _page_text(browser, url: str) -> str:
    async with aiohttp.ClientSession() as client:
        page = await browser.page(client)
        await page.send("Page.enable")
        await page.send("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while True:
            text = await page.evaluate("document.body ? document.body.innerText : ''")
            if text and "no room" in text or time.monotonic() > deadline:
                return text or ""
            await asyncio.sleep(0.25)


@pytest.mark.slow
def test_one_visitor_too_many_is_told_so_and_gets_no_vmtop(tmp_path):
    # Review: any number of visitors each got a vmtop of their own (about 50 MB and a
    # read of the process's smaps every second each), with no limit.
    from .cdp import Browser, find_chromium

    with server_process(tmp_path, "127.0.0.1", "--max-visitors", "1") as (url, proc):
        loop, session, child = open_session(url, proc.pid)
        try:
            status, page = _get(url)
            assert status == 503 and "--max-visitors 1" in page and "Try again" in page
            own = {"Origin": url.rstrip("/")}
            assert handshake(url, own)[0] == 503  # a page loaded before the first session
            vmtops = [
                p
                for p in psutil.Process(proc.pid).children(recursive=True)
                if "vmtop" in " ".join(p.cmdline())
            ]
            assert vmtops == [child], "the visitor too many got a vmtop of their own"
            binary = find_chromium()
            if binary is not None:  # what the visitor's browser shows
                browser = Browser(binary, 1000, 600)
                browser.start()
                try:
                    shown = asyncio.run(_page_text(browser, url))
                finally:
                    browser.stop()
                assert "no room" in shown and "--max-visitors 1" in shown, shown
        finally:
            close(loop, session)
        # The first visitor gone, the next is served.
        deadline = time.monotonic() + 15
        while _get(url)[0] != 200:
            assert time.monotonic() < deadline, "the server stayed full after the visitor left"
            time.sleep(0.25)
    said = proc.stdout.read().decode(errors="replace")
    assert "vmtop: refused a visitor" in said and "--max-visitors 1" in said, said


def test_max_visitors_must_be_a_count():
    import subprocess
    import sys

    for bad in ("0", "-2", "many"):
        result = subprocess.run(
            [sys.executable, "-m", "vmtop", "serve", "--max-visitors", bad],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2 and "--max-visitors" in result.stderr, result.stderr
