"""Faults a long job meets, injected for real: worker processes killed
mid-count, SIGTERM, SIGINT and SIGKILL to ``pwl``, dask workers lost,
an unreachable scheduler; and output paths that are not plain files
(symbolic links, named pipes, devices, standard output), full disks,
quotas, and two writers at once.

Processes are killed with real signals.  Where a fault cannot be caused
for real in a test (a full disk), the system call that would fail is
replaced by one raising the error the kernel would give."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from click.testing import CliRunner

from pwl import function_of
import pwl
from cli_helpers import run
from pwl.engine import parallel
from pwl.theory.constructions import telgarsky
from pwl.io.files import write_bytes_atomic, write_text_atomic
from pwl.engine.parallel import count_chunked

ROOT = Path(__file__).resolve().parent.parent
UNIT = (Fraction(0), Fraction(1))

# -- processes -------------------------------------------------------------------


def children(pid: int) -> set[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.update(int(p) for p in handle.read().split())
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


#: How :func:`dying_task` dies: (flag file, point, width, always, parent pid).
_DYING: dict[str, Any] = {}


def dying_task(net_dict: Any, lo: Any, hi: Any, max_regions: int, output: int) -> Any:
    """The chunk task, but its worker kills itself with SIGKILL (as the
    out-of-memory killer would) on the first chunk of at most ``width``
    around ``point`` (``always``: every time that chunk is counted).  A
    module-level function, so that a process pool can send it by name."""
    flag, point, width, always, parent = (_DYING[k] for k in
                                          ("flag", "point", "width", "always", "parent"))
    if (os.getpid() != parent and lo is not None and hi is not None
            and lo <= point < hi and hi - lo <= width):
        if always or not flag.exists():
            flag.touch()
            os.kill(os.getpid(), signal.SIGKILL)
    return _DYING["real"](net_dict, lo, hi, max_regions, output)


def chunk_dying_once(flag: Path, point: Fraction = Fraction(1, 3),
                     width: Fraction = Fraction(1, 16), always: bool = False) -> Callable:
    """:func:`dying_task` set up; the workers inherit the setting."""
    _DYING.update(flag=flag, point=point, width=width, always=always, parent=os.getpid(),
                  real=parallel._chunk_task)
    return dying_task


@pytest.mark.parametrize("depth, max_regions", [(12, 64), (14, 512)])
def test_worker_killed_mid_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 depth: int, max_regions: int) -> None:
    """The chunk whose worker died is counted again on a fresh worker."""
    flag = tmp_path / "killed"
    monkeypatch.setattr(parallel, "_chunk_task", chunk_dying_once(flag))
    result = count_chunked(telgarsky(depth), UNIT, max_regions=max_regions, workers=2)
    assert flag.exists(), "no worker was killed"
    assert (result.pieces, result.activation_regions) == (2**depth, 2**depth)
    assert result.chunks >= 2**depth // max_regions


def test_workers_killed_from_outside() -> None:
    """Every worker process killed with SIGKILL from here, twice, while
    chunks are in flight: the answer is the same."""
    before = children(os.getpid())
    kills: list[int] = []

    def progress(done: int, pending: int, pieces: int) -> None:
        if done in (4, 40) and pending:
            for pid in children(os.getpid()) - before:
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)

    result = count_chunked(telgarsky(14), UNIT, max_regions=128, workers=2, progress=progress)
    assert len(kills) >= 2
    assert (result.pieces, result.activation_regions) == (2**14, 2**14)
    assert wait_until(lambda: not (children(os.getpid()) - before), 5), "workers left behind"


def lost_chunk(message: str) -> tuple[Fraction, Fraction]:
    match = re.search(r"the chunk \[(\S+), (\S+)\] failed 3 times", message)
    assert match, message
    return Fraction(match.group(1)), Fraction(match.group(2))


def test_chunk_failing_three_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_chunk_task", chunk_dying_once(tmp_path / "f", always=True))
    before = children(os.getpid())
    with pytest.raises(pwl.ResourceLimitError) as info:
        count_chunked(telgarsky(12), UNIT, max_regions=64, workers=2)
    message = str(info.value)
    lo, hi = lost_chunk(message)
    assert lo <= Fraction(1, 3) < hi and hi - lo <= Fraction(1, 16)
    assert "SIGKILL" in message and "--max-memory" in message and "--workers" in message
    assert wait_until(lambda: not (children(os.getpid()) - before), 5), "workers left behind"


def test_chunk_failing_three_times_cli(runner: CliRunner, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t14.json"
    telgarsky(14).save(path)
    monkeypatch.setattr(parallel, "_chunk_task", chunk_dying_once(tmp_path / "f", always=True))
    result = run(runner, "count", str(path), "--domain", "0", "1", "--method", "enumerate",
                 "--max-memory", "1K", "--workers", "2")
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pwl: error: the chunk "), result.stderr
    lo, hi = lost_chunk(lines[0])
    assert lo <= Fraction(1, 3) < hi


# -- signals to a pwl process ----------------------------------------------------------


@pytest.fixture(scope="module")
def long_job(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A count that takes many seconds in many chunks on two workers."""
    path = tmp_path_factory.mktemp("job") / "t22.json"
    telgarsky(22).save(path)
    return [sys.executable, "-c", "from cli.main import main; main()", "count", str(path),
            "--domain", "0", "1", "--method", "enumerate", "--max-memory", "1K",
            "--workers", "2"]


@pytest.mark.parametrize("signum, status", [
    (signal.SIGTERM, 143),
    (signal.SIGINT, 130),
    (signal.SIGKILL, -signal.SIGKILL),
])
def test_signal_stops_the_workers(long_job: list[str], tmp_path: Path, signum: int,
                                  status: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "stderr"
    # output to a file, not a pipe: an orphaned worker would hold a pipe open
    with open(log, "w") as stderr:
        proc = subprocess.Popen(long_job, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=stderr)
    workers: set[int] = set()
    try:
        assert wait_until(lambda: len(children(proc.pid)) >= 2, 30), "no workers started"
        time.sleep(0.3)   # chunks in flight
        workers = children(proc.pid)
        assert proc.poll() is None, "the job ended before the signal"
        proc.send_signal(signum)
        proc.wait(timeout=20)
        err = log.read_text()
        # a shell shows a death by SIGTERM as 143 too; pwl exits 143 itself
        assert proc.returncode in (status, -signum), (proc.returncode, err)
        assert wait_until(lambda: not any(alive(p) for p in workers), 5), \
            f"orphaned workers: {[p for p in workers if alive(p)]}"
        if signum != signal.SIGKILL:
            assert err.strip() in ("pwl: terminated", "pwl: interrupted"), err
    finally:
        proc.kill()
        proc.wait()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


# -- dask ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as local:
        with distributed.Client(local) as client:
            yield local, client


@pytest.mark.parametrize("which", ["one", "all"])
def test_dask_worker_lost(cluster: Any, which: str) -> None:
    """Dask worker processes killed mid-count (their nannies start new ones):
    one of them, or all, with the network they held."""
    local, client = cluster
    client.wait_for_workers(2, timeout=30)
    pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def progress(done: int, pending: int, pieces: int) -> None:
        if done == 3 and not killed:
            for pid in pids[:1] if which == "one" else pids:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    result = count_chunked(telgarsky(15), UNIT, max_regions=512,
                           scheduler=local.scheduler_address, progress=progress)
    assert killed
    assert (result.pieces, result.activation_regions) == (2**15, 2**15)


def test_dask_worker_closed(cluster: Any) -> None:
    """A worker retired and closed mid-count: its chunks move to the other."""
    local, client = cluster
    client.wait_for_workers(2, timeout=30)
    closed: list[Any] = []

    def progress(done: int, pending: int, pieces: int) -> None:
        if done == 3 and not closed:
            address = sorted(client.scheduler_info()["workers"])[0]
            client.retire_workers([address], close_workers=True)
            closed.append(address)

    result = count_chunked(telgarsky(14), UNIT, max_regions=256,
                           scheduler=local.scheduler_address, progress=progress)
    assert closed
    assert (result.pieces, result.activation_regions) == (2**14, 2**14)
    local.scale(2)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_scheduler_cli(runner: CliRunner, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(parallel, "SCHEDULER_TIMEOUT", 2)
    path = tmp_path / "t12.json"
    telgarsky(12).save(path)
    address = f"tcp://127.0.0.1:{closed_port()}"
    start = time.perf_counter()
    result = run(runner, "count", str(path), "--domain", "0", "1", "--method", "enumerate",
                 "--max-memory", "1K", "--scheduler", address)
    assert time.perf_counter() - start < 2 + 5
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"cannot reach the dask scheduler at {address} within 2 s" in lines[0]


# -- files: links, pipes, devices, standard output ------------------------------------------


def test_symlink_target_written_in_its_folder(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "data" / "net.json"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "links" / "net.json"
    link.symlink_to(Path("..") / "data" / "net.json")
    folders: list[str] = []
    real_mkstemp = __import__("tempfile").mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> Any:
        folders.append(str(kwargs.get("dir")))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr("tempfile.mkstemp", mkstemp)
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "data" / "net.json")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640   # a replaced file keeps its mode
    assert folders == [str(target.parent)]
    assert sorted(p.name for p in (tmp_path / "links").iterdir()) == ["net.json"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["net.json"]


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    write_text_atomic(link, "x")
    assert link.is_symlink() and (tmp_path / "new.json").read_text() == "x"


def test_save_through_symlink_cli(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = run(runner, "telgarsky", "-D", "3", "--save", str(link))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert function_of(pwl.load(str(target)), (0, 1)).num_pieces == 8


def read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def reader() -> None:
        with open(path, "rb") as handle:
            into.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


def test_fifo_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = read_fifo(fifo, got)
    data = os.urandom(300_000)   # more than a pipe holds: the reader must be there
    writer = threading.Thread(target=write_bytes_atomic, args=(fifo, data), daemon=True)
    writer.start()
    writer.join(10)
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the pipe was replaced"
    assert got == [data]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_save_to_fifo_cli(runner: CliRunner, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = read_fifo(fifo, got)
    result = run(runner, "telgarsky", "-D", "4", "--save", str(fifo))
    reader.join(10)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and json.loads(got[0]) == telgarsky(4).to_dict()


def test_descriptor_path_written_directly() -> None:
    """``/dev/fd/N`` is an open descriptor (here a pipe's end)."""
    read_end, write_end = os.pipe()
    try:
        write_bytes_atomic(f"/dev/fd/{write_end}", b"through the pipe")
        os.close(write_end)
        write_end = -1
        assert os.read(read_end, 100) == b"through the pipe"
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


@pytest.fixture
def full_device(tmp_path: Path) -> Path:
    """A device node like /dev/full (char 1, 7), made in the test's folder:
    every write fails with ENOSPC."""
    path = tmp_path / "full"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        fd = os.open(path, os.O_WRONLY)
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    try:
        with pytest.raises(OSError) as info:
            os.write(fd, b"x")
        assert info.value.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return path


def test_full_device_untouched(full_device: Path) -> None:
    rdev = os.lstat(full_device).st_rdev
    with pytest.raises(pwl.PWLValueError, match="no space left on the device"):
        write_text_atomic(full_device, "{}")
    info = os.lstat(full_device)
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == rdev, "the device was replaced"
    assert sorted(p.name for p in full_device.parent.iterdir()) == ["full"]


def test_save_to_full_device_cli(runner: CliRunner, full_device: Path) -> None:
    result = run(runner, "telgarsky", "-D", "3", "--save", str(full_device))
    assert result.exit_code == 1, (result.exit_code, result.stdout)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on the device" in lines[0], result.stderr
    assert stat.S_ISCHR(os.lstat(full_device).st_mode)


@pytest.mark.parametrize("args", [
    ["telgarsky", "-D", "3", "--save", "-"],
    ["telgarsky", "-D", "3", "--save=-", "--json"],
    ["approx", "rect", "--rect", "0", "1", "1", "--save", "-"],
])
def test_save_dash_is_stdout(runner: CliRunner, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(runner, *args)
    assert result.exit_code == 0, result.stderr
    net = pwl.Network.from_dict(json.loads(result.stdout))   # nothing else on stdout
    assert net.depth >= 1
    assert not os.path.exists("-")
    assert result.stderr.strip(), "the report goes to stderr"


def test_export_dash_is_stdout(runner: CliRunner, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.json"
    telgarsky(3).save(path)
    monkeypatch.chdir(tmp_path)
    result = run(runner, "export", str(path), "--to", "csv", "--domain", "0", "1", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) >= 8
    assert not os.path.exists("-")


# -- full disks and quotas -----------------------------------------------------------------


def failing(call: Callable, errnum: int, after: int = 0) -> Callable:
    """``call`` that fails with ``errnum`` once ``after`` bytes went through
    (on any descriptor but the standard ones)."""
    state = {"bytes": 0}

    def wrapper(fd: int, *args: Any) -> Any:
        if fd in (0, 1, 2):
            return call(fd, *args)
        if args and state["bytes"] < after:
            n = call(fd, bytes(args[0])[:after - state["bytes"]])
            state["bytes"] += n
            return n
        raise OSError(errnum, os.strerror(errnum))

    return wrapper


@pytest.mark.parametrize("name, errnum, message", [
    ("write", errno.ENOSPC, "no space left on the device"),
    ("write", errno.EDQUOT, "over the disk quota"),
    ("fsync", errno.ENOSPC, "no space left on the device"),
    ("fsync", errno.EDQUOT, "over the disk quota"),
])
@pytest.mark.parametrize("previous", [True, False])
def test_full_disk_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          name: str, errnum: int, message: str,
                                          previous: bool) -> None:
    path = tmp_path / "out.bin"
    if previous:
        path.write_bytes(b"the previous file")
    monkeypatch.setattr(os, name, failing(getattr(os, name), errnum, after=1000))
    with pytest.raises(pwl.PWLValueError, match=message) as info:
        write_bytes_atomic(path, os.urandom(100_000))
    monkeypatch.undo()
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    if previous:
        assert path.read_bytes() == b"the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out.bin"] if previous else [])


def test_full_disk_cli(runner: CliRunner, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.json"
    path.write_text("previous")
    monkeypatch.setattr(os, "write", failing(os.write, errno.ENOSPC, after=100))
    result = run(runner, "telgarsky", "-D", "5", "--save", str(path))
    monkeypatch.undo()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on the device" in lines[0], result.stderr
    assert path.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


# -- two writers at once ---------------------------------------------------------------------


def _writer(path: str, byte: bytes, times: int) -> None:
    data = byte * 2_000_000
    for _ in range(times):
        write_bytes_atomic(path, data)


def test_two_writers_one_complete_result(tmp_path: Path) -> None:
    """Two processes write the same name over and over, a third reads it:
    every read sees one writer's complete file."""
    import multiprocessing as mp

    path = str(tmp_path / "out.bin")
    ctx = mp.get_context("fork")
    writers = [ctx.Process(target=_writer, args=(path, b, 25)) for b in (b"a", b"b")]
    for w in writers:
        w.start()
    seen: set[bytes] = set()
    while any(w.is_alive() for w in writers):
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            continue
        assert len(data) == 2_000_000 and data == data[:1] * len(data), "a mixed file"
        seen.add(data[:1])
    for w in writers:
        w.join()
        assert w.exitcode == 0
    final = Path(path).read_bytes()
    assert final in (b"a" * 2_000_000, b"b" * 2_000_000)
    assert seen, "the reader saw no file"
    assert os.listdir(tmp_path) == ["out.bin"]
