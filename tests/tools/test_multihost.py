"""tools/multihost.py: a cluster of network namespaces on this machine. The cluster comes up and
ranks talk over its links, the links are shaped, and nothing is left after a normal exit, an
exception, Ctrl-C or SIGTERM.

Needs root, ``ip``/``tc`` and (for the ``mpi`` tests) mpi4py and mpiexec; skipped otherwise.
Every namespace a test makes is named ``tnt<random>-...`` by the test and removed by it.
"""

import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "multihost.py"
_spec = importlib.util.spec_from_file_location("multihost", SCRIPT)
multihost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(multihost)

MISSING = multihost.missing()
needs_root = pytest.mark.skipif(MISSING is not None, reason=f"multihost: {MISSING}")
NO_DELAY = multihost.delay_missing()
needs_delay = pytest.mark.skipif(NO_DELAY is not None, reason=f"multihost: {NO_DELAY}")
#: The delay of the teardown tests: one when the machine can add it (so its rules and thread
#: are torn down too), none otherwise (the rest is torn down all the same).
DELAY = None if NO_DELAY else "0.1ms"
try:
    import mpi4py  # noqa: F401

    NO_MPI4PY = False
except ImportError:
    NO_MPI4PY = True


def needs_mpi(f):
    """Marked ``mpi`` and ``slow``; skipped without root, ip/tc, mpi4py or mpiexec."""
    skip = pytest.mark.skipif(NO_MPI4PY, reason="mpi4py is not installed")
    return pytest.mark.slow(pytest.mark.mpi(needs_root(skip(f))))


@pytest.fixture
def name():
    """A run name of this test's own; afterwards nothing with it may be left (and is removed)."""
    run = "tnt" + secrets.token_hex(3)
    yield run
    left = leftovers(run)
    if left["netns"] or left["files"]:
        multihost.clean(run)
    assert left == {"netns": [], "links": [], "files": []}


def leftovers(run):
    """What a run left: namespaces, links in this namespace, files in the temp folder."""
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    return {
        "netns": [line.split()[0] for line in netns.splitlines() if line.startswith(run)],
        "links": [
            x["ifname"] for x in json.loads(links) if run in x["ifname"] or x["ifname"] == "mh0"
        ],
        "files": sorted(p.name for p in Path("/tmp").glob(f"{run}*")),
    }


def cli(*argv, **kwargs):
    """The command line in a process of its own."""
    cmd = [sys.executable, str(SCRIPT), *map(str, argv)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    return subprocess.Popen(cmd, **{**pipes, **kwargs})


# -- without root ------------------------------------------------------------------------------
def test_without_root_it_says_so_in_one_line_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(multihost.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(multihost.sys, "platform", "linux")
    assert multihost.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


def test_bad_arguments_are_usage_errors(capsys):
    for argv in (["--bandwidth", "fast", "--check"], ["--delay", "1", "--check"], []):
        with pytest.raises(SystemExit) as exc:
            multihost.main(argv)
        assert exc.value.code == 2
    assert multihost.parse_rate("10gbit") == 1e10 and multihost.parse_delay(
        "100us"
    ) == pytest.approx(1e-4)


# -- the cluster -------------------------------------------------------------------------------
@needs_mpi
def test_two_hosts_allreduce_over_the_link_and_agree(name, tmp_path):
    code = (
        "import os, socket, sys, numpy as np; from mpi4py import MPI; c = MPI.COMM_WORLD; "
        "a = np.full(2**20, c.rank + 1.0, np.float32); c.Allreduce(MPI.IN_PLACE, a); "
        "open(os.path.join(sys.argv[1], str(c.rank)), 'w').write("
        "f'{a.min()} {a.max()} {socket.gethostname()} {sorted(os.sched_getaffinity(0))}')"
    )
    with multihost.Cluster(hosts=2, name=name) as cluster:
        before = cluster.link_bytes(0)
        assert cluster.run([sys.executable, "-c", code, tmp_path], timeout=60) == 0
        received, sent = (b - a for a, b in zip(before, cluster.link_bytes(0)))
    results = [(tmp_path / str(r)).read_text().split(" ", 3) for r in range(2)]
    assert [r[:2] for r in results] == [["3.0", "3.0"]] * 2  # 1 + 2 everywhere
    assert [r[2] for r in results] == [f"{name}-h0", f"{name}-h1"]  # two hosts
    cores = sorted(os.sched_getaffinity(0))
    assert [r[3] for r in results] == [str([cores[0]]), str([cores[1 % len(cores)]])]  # pinned
    assert sent >= 4 * 2**20 / 2 and received >= 4 * 2**20 / 2  # half of 4 MiB each way


@needs_root
@needs_delay
def test_the_links_are_shaped(name):
    with multihost.Cluster(hosts=3, bandwidth="1gbit", delay="1ms", name=name) as cluster:
        for k in range(3):
            qdisc = cluster.exec_ns(cluster.namespaces[k], ["tc", "qdisc", "show", "dev", "mh0"])
            assert "rate 1Gbit" in qdisc.stdout
        for k in range(3):  # the switch's ports too
            port = cluster.exec_ns(cluster.switch, ["tc", "qdisc", "show", "dev", f"p{k}"])
            assert "rate 1Gbit" in port.stdout
        # host 0 <-> host 2 through the switch: 1 ms each way
        rtt = _tcp_round_trip(cluster, 0, 2)
        assert 2e-3 <= rtt < 6e-3, rtt


SERVER = """import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 5001))
s.listen()
c = s.accept()[0]
while d := c.recv(8):
    c.sendall(d)
"""
CLIENT = """import socket, statistics, sys, time
for _ in range(100):
    try:
        c = socket.create_connection((sys.argv[1], 5001))
        break
    except OSError:
        time.sleep(0.05)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t = []
for _ in range(20):
    s = time.perf_counter()
    c.sendall(b"x" * 8)
    c.recv(8)
    t.append(time.perf_counter() - s)
print(statistics.median(t))
"""


def _tcp_round_trip(cluster, a, b):
    """The median round trip of 8 bytes over TCP from host a to host b."""
    addr = cluster.addresses[b]
    proc = subprocess.Popen(cluster.in_host(b, [sys.executable, "-c", SERVER, addr]))
    try:
        argv = cluster.in_host(a, [sys.executable, "-c", CLIENT, addr])
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
        return float(out.stdout)
    finally:
        proc.kill()
        proc.wait()


@needs_root
def test_an_exception_inside_tears_everything_down(name):
    with pytest.raises(ZeroDivisionError):
        with multihost.Cluster(hosts=3, bandwidth="1gbit", delay=DELAY, name=name) as cluster:
            assert len(leftovers(name)["netns"]) == 4  # 3 hosts and the switch
            assert not _sh_ok(["ip", "link", "show", "mh0"])  # none in our namespace
            cluster.exec_ns(cluster.namespaces[0], ["true"], check=True)
            raise ZeroDivisionError


def _sh_ok(argv):
    return subprocess.run(argv, capture_output=True).returncode == 0


@needs_mpi
def test_a_normal_exit_leaves_nothing_and_returns_the_status(name):
    delay = ["--delay", DELAY] if DELAY else []
    args = ["--name", name, "--hosts", 3, "--bandwidth", "1gbit", *delay, "--"]
    proc = cli(*args, sys.executable, "-c", "import sys; sys.exit(7)")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 7, err
    assert f"3 hosts {name}-h0..{name}-h2" in err


@needs_mpi
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_ranks_and_leaves_nothing(name, signum, status):
    delay = ["--delay", DELAY] if DELAY else []
    proc = cli("--name", name, "--bandwidth", "1gbit", *delay, "--", "sleep", 60)
    try:
        ranks = []
        deadline = time.monotonic() + 30
        while len(ranks) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            ranks = [pid for k in range(2) for pid in _sleeps(f"{name}-h{k}")]
        assert len(ranks) == 2, "the ranks did not start"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, err
    for pid in ranks:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid)


def _sleeps(ns):
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    return [p for p in pids.split() if _comm(p) == "sleep"]


def _comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _state(pid):
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


@needs_mpi
@needs_delay
def test_the_measured_bandwidth_and_latency_follow_the_shaping(name, capsys):
    with multihost.Cluster(hosts=2, bandwidth="1gbit", delay="1ms", name=name) as cluster:
        assert multihost.check(cluster, sizes=(2**20, 2**23, 2**24)) == 0
    out = capsys.readouterr().out
    figures = {
        line.split(":")[0]: float(line.split(":")[1].split()[0])
        for line in out.splitlines()
        if "one way:" in line or "bus bw:" in line
    }
    assert 0.9 <= figures["latency, 8 B ping-pong, one way"] < 3.0, out  # ms
    assert 0.4 <= figures["allreduce   16 MiB, bus bw"] <= 1.1, out  # Gbit/s, unshaped: 5-15


@needs_mpi
def test_clean_removes_what_a_killed_harness_left(name):
    argv = ["--name", name, "--hosts", 3, "--bandwidth", "1gbit", "--", "sleep", 60]
    proc = cli(*argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not _sleeps(f"{name}-h2") and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.kill()  # SIGKILL: no teardown
    proc.wait(timeout=30)
    assert len(leftovers(name)["netns"]) == 4 and _sleeps(f"{name}-h2")
    done = cli("--clean", name)
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    assert f"removed {name}-h0 {name}-h1 {name}-h2 {name}-sw" in err
    assert not _sleeps(f"{name}-h2")
