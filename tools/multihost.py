"""A cluster of N hosts on one machine: network namespaces joined by shaped veth links, and
mpiexec across them over TCP (issue 23; docs/distributed.md, "A cluster on one machine").

    python tools/multihost.py --hosts 2 --bandwidth 1gbit --delay 0.5ms -- python bench.py ...
    python tools/multihost.py --hosts 2 --bandwidth 1gbit --delay 0.5ms --check

Host k is the namespace ``<run>-h<k>`` with address 198.18.0.<k+1>/24 on its link ``mh0``
(198.18.0.0/15 is reserved for network benchmarks; there is no default route, so nothing
leaves the namespaces). Two hosts share one veth pair; more hosts each have a veth to a bridge
in the namespace ``<run>-sw``. Every link is shaped in both directions: ``--bandwidth`` is the
rate of each host's link, ``--delay`` the one-way latency between two hosts (a ping's round
trip is twice it): with tbf and netem, or, on a kernel without netem, a user-space delay line
(an iptables NFQUEUE rule and a thread of this process). Rank k runs on host k, pinned to core k
(modulo the cores). Needs root.

From Python::

    with Cluster(hosts=2, bandwidth="1gbit", delay="0.5ms") as cluster:
        status = cluster.run([sys.executable, "bench.py"])
"""

import argparse
import ctypes
import json
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

PROG = "multihost.py"
SUBNET = "198.18.0"  # 198.18.0.0/15: RFC 2544, network benchmarks
NAME = r"[a-z][a-z0-9]{0,11}"  # a run's name, the prefix of its namespaces
LINK = "mh0"  # each host's link, the same name in every namespace
# make MPICH use its TCP netmod between the namespaces: no shared memory (every rank would see
# the others as local), UCX or libfabric over TCP on the shaped link only
MPI_ENV = {
    "MPIR_CVAR_NOLOCAL": "1",
    "UCX_TLS": "tcp,self",
    "UCX_NET_DEVICES": LINK,
    "FI_PROVIDER": "tcp",
    "FI_TCP_IFACE": LINK,
}
THREADS = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
TIMES = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


class Stopped(Exception):
    """A signal asked the harness to stop; ``status`` is 128 + its number."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.status = signum, 128 + signum


def parse_rate(text):
    """'1gbit' -> 1e9 bits per second (tc's bit units)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgt]?)bit", str(text).strip().lower())
    if m is None or float(m[1]) <= 0:
        raise ValueError(f"bad bandwidth {text!r} (e.g. 100mbit, 1gbit, 10gbit)")
    return float(m[1]) * UNITS[m[2]]


def parse_delay(text):
    """'0.5ms' -> 0.0005 seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(us|ms|s)", str(text).strip().lower())
    if m is None:
        raise ValueError(f"bad delay {text!r} (e.g. 100us, 0.5ms, 1ms)")
    return float(m[1]) * TIMES[m[2]]


def mpiexec_path():
    """MPICH's mpiexec beside this Python, else on PATH, else None."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def missing():
    """Why the harness cannot run here (one line), or None."""
    if sys.platform != "linux":
        return "needs Linux network namespaces"
    if os.geteuid() != 0:
        return "needs root (it creates network namespaces); run it with sudo"
    for tool in ("ip", "tc", "unshare", "taskset", "hostname"):
        if shutil.which(tool) is None:
            return f"needs the {tool!r} command (iproute2, util-linux)"
    if mpiexec_path() is None:
        return "needs mpiexec (python -m pip install -e '.[dist]')"
    return None


def delay_missing():
    """Why ``--delay`` cannot work here (one line), or None: it needs the kernel's netem qdisc
    or, without it, the ``iptables`` command for the user-space delay line."""
    if missing() is not None:
        return missing()
    if shutil.which("iptables") is not None:
        return None
    probe = f"tnprobe{os.getpid()}"
    try:
        _sh("ip", "netns", "add", probe)
        _sh("ip", "netns", "exec", probe, "ip", "link", "set", "lo", "up")
        tc = ["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root"]
        works = _sh(*tc, "netem", "delay", "1ms", check=False).returncode == 0
    finally:
        _sh("ip", "netns", "delete", probe, check=False)
    if works:
        return None
    return "--delay needs the netem qdisc (this kernel lacks it) or the iptables command"


def _sh(*argv, check=True):
    """Run a command quietly; a failure raises RuntimeError with its message."""
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(f"{' '.join(map(str, argv))}: {msg[-1] if msg else proc.returncode}")
    return proc


class Cluster:
    """N emulated hosts; ``with Cluster(...) as c: c.run(argv)``. Torn down on exit."""

    def __init__(self, hosts=2, bandwidth=None, delay=None, mtu=1500, netmod="ucx", name=None):
        if hosts < 2 or hosts > 250:
            raise ValueError(f"hosts must be 2..250, not {hosts}")
        if netmod not in ("ucx", "ofi"):
            raise ValueError(f"netmod must be ucx or ofi, not {netmod!r}")
        self.hosts, self.mtu, self.netmod = hosts, int(mtu), netmod
        self.rate = None if bandwidth is None else parse_rate(bandwidth)
        self.delay = None if delay is None else parse_delay(delay)
        self.name = name or "tn" + secrets.token_hex(3)  # e.g. tn3fa2c1: never clashes
        if not re.fullmatch(NAME, self.name):
            raise ValueError(f"bad name {self.name!r} (1-12 lowercase letters and digits)")
        self.namespaces = [f"{self.name}-h{k}" for k in range(hosts)]
        self.switch = f"{self.name}-sw" if hosts > 2 else None
        self.addresses = [f"{SUBNET}.{k + 1}" for k in range(hosts)]
        self.cores = sorted(os.sched_getaffinity(0))  # host k runs on cores[k % len(cores)]
        self.delayer = None  # the user-space delay line when the kernel has no netem
        self._made, self._dir, self._procs, self._old_term = [], None, [], None

    # -- building and tearing down -------------------------------------------------------------
    def __enter__(self):
        if threading_main() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._old_term = signal.signal(signal.SIGTERM, _raise_stopped)
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()
        if self._old_term is not None:
            signal.signal(signal.SIGTERM, self._old_term)
            self._old_term = None
        return False

    def up(self):
        """Create the namespaces, links, addresses and shaping."""
        problem = missing()
        if problem:
            raise RuntimeError(problem)
        for ns in self.namespaces + ([self.switch] if self.switch else []):
            if os.path.exists(f"/var/run/netns/{ns}"):
                raise RuntimeError(f"the namespace {ns} exists already")
            self._made.append(ns)  # first, so that an interrupted add is cleaned up too
            _sh("ip", "netns", "add", ns)
            # no IPv6 (no router solicitations or DAD on the links), loopback up
            self.exec_ns(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"], check=True)
            self.exec_ns(ns, ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"], check=True)
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        h, ports = self.namespaces, []
        if self.switch is None:  # created straight inside the namespaces, never in ours
            _sh("ip", "link", "add", LINK, "netns", h[0], "type", "veth",
                "peer", LINK, "netns", h[1])  # fmt: skip
        else:
            _sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
            for k, ns in enumerate(h):
                port = f"p{k}"
                _sh("ip", "link", "add", LINK, "netns", ns, "type", "veth", "peer", port,
                    "netns", self.switch)  # fmt: skip
                _sh("ip", "-n", self.switch, "link", "set", port, "mtu", self.mtu, "master", "br0")
                _sh("ip", "-n", self.switch, "link", "set", port, "up")
                ports.append((self.switch, port))
            _sh("ip", "-n", self.switch, "link", "set", "br0", "mtu", self.mtu, "up")
        for k, ns in enumerate(h):
            _sh("ip", "-n", ns, "link", "set", LINK, "mtu", self.mtu)
            _sh("ip", "-n", ns, "addr", "add", f"{self.addresses[k]}/24", "dev", LINK)
            _sh("ip", "-n", ns, "link", "set", LINK, "up")
        self._wait_up()
        # the rate on both ends of every link; the delay on what each host sends, so that a
        # packet from host i to host j is delayed once, through a switch or not
        for ns in h:
            self._shape(ns, LINK, self.delay)
        for ns, dev in ports:
            self._shape(ns, dev, None)
        self._dir = tempfile.mkdtemp(prefix=f"{self.name}-")
        self._write_launcher()

    def _wait_up(self, timeout=10.0):
        """Wait until every host's link is up (UCX ignores a link that is still coming up)."""
        deadline = time.monotonic() + timeout
        for ns in self.namespaces:
            while True:
                out = _sh("ip", "-n", ns, "-j", "link", "show", LINK).stdout
                if json.loads(out)[0].get("operstate") == "UP":
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{LINK} in {ns} did not come up")
                time.sleep(0.02)

    def _shape(self, ns, dev, delay):
        """Rate (tbf, or netem's rate) and delay (netem, or the user-space delay line)."""
        if self.rate is None and delay is None:
            return
        tc = ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root"]
        if delay is not None:
            limit = max(1000, int(2 * ((self.rate or 1e10) / 8 * delay + 2**20) / self.mtu))
            netem = ["netem", "delay", f"{delay * 1e6:.0f}us", "limit", limit]
            rate = ["rate", f"{self.rate:.0f}bit"] if self.rate else []
            proc = _sh(*tc, *netem, *rate, check=False)
            if proc.returncode == 0:
                return
            if "unknown" not in proc.stderr.lower():
                raise RuntimeError(f"tc netem on {dev} in {ns}: {proc.stderr.strip()}")
            self._delay_line(ns, dev, delay)  # this kernel has no netem
        if self.rate is not None:
            # burst: a 64 KiB GSO packet fits, and 0.1 ms at the rate (a larger burst lets a
            # whole small message through unshaped)
            burst = max(2**17, int(self.rate / 8 * 1e-4))
            _sh(*tc, "tbf", "rate", f"{self.rate:.0f}bit", "burst", burst, "latency", "20ms")

    def _delay_line(self, ns, dev, delay):
        """Delay what ``dev`` sends by ``delay`` in user space (NFQUEUE), for kernels without
        netem: needs the ``iptables`` command (its NFQUEUE target)."""
        if shutil.which("iptables") is None:
            raise RuntimeError(
                "--delay needs the netem qdisc, which this kernel lacks, or the iptables "
                "command for the user-space delay line (apt-get install iptables)"
            )
        if self.delayer is None:
            self.delayer = DelayLine()
        queue = len(self.delayer.queues)
        rule = ["-o", dev, "-j", "NFQUEUE", "--queue-num", queue, "--queue-bypass"]
        self.delayer.add(ns, queue, delay)  # bind first: a rule without a listener drops
        _sh("ip", "netns", "exec", ns, "iptables", "-t", "mangle", "-A", "POSTROUTING", *rule)

    def down(self):
        """Kill what runs in the namespaces and delete them (with their links, bridge, qdiscs);
        safe to call twice. Ctrl-C waits until it is done."""
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if threading_main() else None
        try:
            self._down()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)

    def _down(self):
        for proc in self._procs:
            _kill_group(proc)
        self._procs = []
        errors = []
        for ns in self._made:
            pids = _sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for pid in pids:
                    try:
                        os.kill(int(pid), sig)
                    except (ProcessLookupError, ValueError):
                        pass
                deadline = time.monotonic() + 2
                while pids and time.monotonic() < deadline:
                    time.sleep(0.05)
                    pids = _sh("ip", "netns", "pids", ns, check=False).stdout.split()
        if self.delayer is not None:
            self.delayer.close()
            self.delayer = None
        for ns in reversed(self._made):
            proc = _sh("ip", "netns", "del", ns, check=False)
            if proc.returncode != 0 and "No such file" not in proc.stderr:
                errors.append(proc.stderr.strip())
        self._made = []
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        if errors:
            raise RuntimeError(f"teardown: {errors[0]}")

    def _write_launcher(self):
        """The script Hydra calls like ssh: ``launch [-x] HOST COMMAND...``."""
        cases = "\n".join(
            f"{a}) ns={ns}; core={self.cores[k % len(self.cores)]};;"
            for k, (a, ns) in enumerate(zip(self.addresses, self.namespaces))
        )
        script = f"""#!/bin/sh
# Hydra's ssh launcher for {self.name}: run COMMAND in the namespace of HOST, on its core
while [ "${{1#-}}" != "$1" ]; do shift; done
case "$1" in
{cases}
*) echo "{PROG}: unknown host $1" >&2; exit 255;;
esac
shift
exec ip netns exec "$ns" unshare --uts taskset -c "$core" sh -c "hostname $ns && exec $*"
"""
        self.launcher = Path(self._dir) / "launch"
        self.launcher.write_text(script)
        self.launcher.chmod(0o755)

    # -- running -------------------------------------------------------------------------------
    def command(self, argv):
        """The full command line that runs ``argv`` on every host, one rank each."""
        mpiexec = [
            mpiexec_path(),
            "-hosts", ",".join(f"{a}:1" for a in self.addresses),
            "-n", str(self.hosts),
            "-launcher", "ssh", "-launcher-exec", str(self.launcher),
            "-localhost", self.addresses[0],
        ]  # fmt: skip
        # mpiexec itself (and so rank 0) runs in host 0's namespace, on host 0's core
        inner = f"hostname {self.namespaces[0]} && exec " + shlex.join(mpiexec + list(argv))
        pin = ["taskset", "-c", self.cores[0]]
        return self.in_host(0, ["unshare", "--uts", *pin, "sh", "-c", inner])

    def env(self, extra=None):
        """This environment plus the MPICH settings that keep the traffic on the links, and one
        thread per rank (its host has one core) unless the environment says otherwise."""
        mpi = {**MPI_ENV, "MPIR_CVAR_CH4_NETMOD": self.netmod}
        return {**THREADS, **os.environ, **mpi, **(extra or {})}

    def popen(self, argv, env=None, **kwargs):
        """Start ``argv`` under mpiexec across the hosts (in a session of its own)."""
        cmd = self.command([str(a) for a in argv])
        proc = subprocess.Popen(cmd, env=self.env(env), start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def run(self, argv, env=None, timeout=None, **kwargs):
        """Run ``argv`` across the hosts and return its exit status; a signal (Ctrl-C,
        SIGTERM) or an exception is passed on to mpiexec, which ends the ranks."""
        proc = self.popen(argv, env=env, **kwargs)
        try:
            status = proc.wait(timeout=timeout)
            return 128 - status if status < 0 else status
        except BaseException as exc:
            signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
            _kill_group(proc, signum)
            raise
        finally:
            self._procs.remove(proc)

    def in_host(self, k, argv):
        """``argv`` prefixed to run in host k's namespace."""
        return ["ip", "netns", "exec", self.namespaces[k]] + [str(a) for a in argv]

    def exec_ns(self, ns, argv, check=False):
        """Run ``argv`` in namespace ``ns``; the CompletedProcess (text)."""
        return _sh("ip", "netns", "exec", ns, *argv, check=check)

    def link_bytes(self, k):
        """(received, sent) bytes of host k's link."""
        out = _sh("ip", "-n", self.namespaces[k], "-j", "-s", "link", "show", LINK).stdout
        stats = json.loads(out)[0]["stats64"]
        return stats["rx"]["bytes"], stats["tx"]["bytes"]

    def describe(self):
        """One line: what was built."""
        shape = []
        if self.rate:
            shape.append(f"{_fmt_rate(self.rate)} per link")
        if self.delay is not None:
            how = "" if self.delayer is None else " (user-space delay line, no netem here)"
            shape.append(f"{self.delay * 1e3:g} ms one way{how}")
        topo = "one veth pair" if self.switch is None else f"a bridge in {self.switch}"
        return (
            f"{self.hosts} hosts {self.namespaces[0]}..{self.namespaces[-1]} "
            f"({self.addresses[0]}..{self.addresses[-1]}) over {topo}, "
            f"{', '.join(shape) or 'unshaped'}, MTU {self.mtu}, MPICH {self.netmod} over TCP"
        )


def clean(name):
    """Remove what the run ``name`` left (its harness was killed with SIGKILL); returns the
    namespaces removed."""
    cluster = Cluster(name=name)
    listed = [line.split()[0] for line in _sh("ip", "netns", "list").stdout.splitlines() if line]
    cluster._made = [ns for ns in listed if re.fullmatch(rf"{name}-(h\d+|sw)", ns)]
    removed = sorted(cluster._made)
    cluster.down()
    for path in Path(tempfile.gettempdir()).glob(f"{name}-*"):
        shutil.rmtree(path, ignore_errors=True)
    return removed


def threading_main():
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_stopped(signum, frame):
    raise Stopped(signum)


def _kill_group(proc, signum=signal.SIGTERM, grace=5.0):
    """Send ``signum`` to proc's session, wait ``grace`` seconds, then SIGKILL it."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signum)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def _fmt_rate(bps):
    return f"{bps / 1e9:g} Gbit/s" if bps >= 1e9 else f"{bps / 1e6:g} Mbit/s"


# -- the check: python tools/multihost.py --check (runs _probe on every rank) -----------------
def check(cluster, sizes=(2**20, 2**24, 2**26)):
    """Measure latency and bandwidth across the cluster; print them beside the shaped values.
    Returns the exit status."""
    before = cluster.link_bytes(0)
    out = tempfile.NamedTemporaryFile("r", suffix=".json", dir=cluster._dir, delete=False)
    argv = [sys.executable, os.path.abspath(__file__), "--probe", out.name]
    status = cluster.run(argv + [str(s) for s in sizes])
    if status != 0:
        print(f"{PROG}: error: the probe failed with status {status}", file=sys.stderr)
        return status
    after = cluster.link_bytes(0)
    res = json.loads(Path(out.name).read_text())
    rate = f"shaped {_fmt_rate(cluster.rate)}" if cluster.rate else "unshaped"
    delay = f"shaped {cluster.delay * 1e3:g} ms" if cluster.delay is not None else "unshaped"
    for r in res["ranks"]:
        print(f"rank {r['rank']}: host {r['host']}, cores {r['cores']}")
    print(f"latency, 8 B ping-pong, one way: {res['latency'] * 1e3:8.3f} ms    ({delay})")
    for nbytes, seconds in res["pingpong"]:
        gbit = nbytes * 8 / seconds / 1e9
        print(f"ping-pong {nbytes / 2**20:4.0f} MiB, one way:   {gbit:8.3f} Gbit/s ({rate})")
    n = cluster.hosts
    for nbytes, seconds in res["allreduce"]:
        bus = 2 * (n - 1) / n * nbytes * 8 / seconds / 1e9
        print(f"allreduce {nbytes / 2**20:4.0f} MiB, bus bw:    {bus:8.3f} Gbit/s ({rate})")
    sent, received = after[1] - before[1], after[0] - before[0]
    print(
        f"host 0's link {LINK}: sent {sent / 1e6:.1f} MB, received {received / 1e6:.1f} MB; "
        f"rank 0's payload: {res['sent'] / 1e6:.1f} MB sent"
    )
    return 0


def _probe(out, sizes):
    """On every rank, under mpiexec: ping-pong between ranks 0 and 1, allreduces; rank 0 writes
    the timings (median of 3 after a warm-up) to ``out`` as JSON."""
    import numpy as np
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, size = comm.rank, comm.size
    me = {"rank": rank, "host": socket.gethostname(), "cores": sorted(os.sched_getaffinity(0))}
    ranks = comm.gather(me)
    sent = 0

    def pingpong(nbytes, reps):
        nonlocal sent
        buf = np.zeros(max(1, nbytes // 8), np.float64)
        times = []
        for _ in range(reps):
            comm.Barrier()
            start = time.perf_counter()
            if rank == 0:
                comm.Send(buf, dest=1)
                comm.Recv(buf, source=1)
                sent += buf.nbytes
            elif rank == 1:
                comm.Recv(buf, source=0)
                comm.Send(buf, dest=0)
            times.append((time.perf_counter() - start) / 2)
        return times

    pingpong(8, 5)
    latency = float(np.median(pingpong(8, 50)))
    ping = []
    for nbytes in sizes[1:2]:
        ping.append((nbytes, float(np.median(pingpong(nbytes, 4)[1:]))))
    reduce = []
    for nbytes in sizes:
        data = np.ones(nbytes // 4, np.float32)
        times = []
        for _ in range(4):
            comm.Barrier()
            start = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, data)
            times.append(time.perf_counter() - start)
            sent += 2 * (size - 1) / size * nbytes
        reduce.append((nbytes, float(np.median(times[1:]))))
    if rank == 0:
        res = {"ranks": ranks, "latency": latency, "pingpong": ping, "allreduce": reduce}
        Path(out).write_text(json.dumps({**res, "sent": sent}))
    return 0


# -- the command line --------------------------------------------------------------------------
def main(argv=None):
    """The command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--probe"]:
        return _probe(argv[1], [int(a) for a in argv[2:]])
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Emulate a cluster on this machine (network namespaces, shaped links) and "
        "run a command on it with mpiexec, one rank per host. Needs root.",
        epilog="example: %(prog)s --hosts 2 --bandwidth 1gbit --delay 0.5ms -- python x.py",
    )
    parser.add_argument("--hosts", type=int, default=2, help="number of hosts (default 2)")
    parser.add_argument("--bandwidth", help="rate of each host's link, e.g. 1gbit, 10gbit")
    parser.add_argument("--delay", help="one-way latency between two hosts, e.g. 0.1ms, 1ms")
    parser.add_argument("--mtu", type=int, default=1500, help="MTU of the links (default 1500)")
    parser.add_argument("--netmod", choices=("ucx", "ofi"), default="ucx", help="MPICH netmod")
    parser.add_argument("--check", action="store_true", help="measure latency and bandwidth")
    parser.add_argument("--name", help="prefix of the namespaces (default: tn + 6 random hex)")
    parser.add_argument("--clean", metavar="NAME", help="remove what a killed run NAME left")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if (args.clean is not None) + args.check + bool(command) != 1:
        parser.error("give one of --check, --clean NAME or a command after --")
    if args.clean is not None and not re.fullmatch(NAME, args.clean):
        parser.error(f"bad name {args.clean!r} (1-12 lowercase letters and digits)")
    try:
        cluster = Cluster(args.hosts, args.bandwidth, args.delay, args.mtu, args.netmod, args.name)
    except ValueError as exc:
        parser.error(str(exc))
    problem = missing()
    if problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 2
    if args.clean is not None:
        removed = clean(args.clean)
        print(f"{PROG}: removed {' '.join(removed) or 'nothing'}", file=sys.stderr)
        return 0
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stopped)
    try:
        with cluster:
            print(f"{PROG}: {cluster.describe()}", file=sys.stderr, flush=True)
            return check(cluster) if args.check else cluster.run(command)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; cleaned up", file=sys.stderr)
        return 130
    except Stopped as exc:
        print(f"{PROG}: {exc}; cleaned up", file=sys.stderr)
        return exc.status
    except (RuntimeError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


# -- the user-space delay line (NFQUEUE), for kernels without netem ----------------------------
NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET, NFQNL_MSG_CONFIG, NFQNL_MSG_VERDICT_BATCH = 3, 0, 2, 3
NLMSG_ERROR, NLM_F_REQUEST, NLM_F_ACK, NF_ACCEPT = 2, 1, 4, 1
CLONE_NEWNET, PR_SET_TIMERSLACK, SO_RCVBUFFORCE = 0x40000000, 29, 33


class DelayLine:
    """Holds each packet an NFQUEUE rule hands it for a fixed time, then accepts it: the kernel
    keeps the packet, this thread only sees its id (copy mode "meta", GSO packets whole), and
    one batch verdict releases every packet that is due, in order."""

    def __init__(self):
        import threading

        self.queues = []  # (socket, queue number, delay, pending deque of (due, id))
        self._wake_r, self._wake_w = os.pipe()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="delay-line", daemon=True)
        self._started = False

    def add(self, ns, queue, delay):
        """Listen on NFQUEUE ``queue`` of namespace ``ns``; delay its packets ``delay`` s."""
        sock = _socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 * 2**20)
        sock.bind((0, 0))
        _nfq_config(sock, queue, 1, struct.pack("!BxH", 1, 0))  # NFQA_CFG_CMD: bind
        _nfq_config(sock, queue, 2, struct.pack("!IB", 0, 1))  # NFQA_CFG_PARAMS: meta only
        _nfq_config(sock, queue, 3, struct.pack("!I", 1 << 16))  # NFQA_CFG_QUEUE_MAXLEN
        flags = struct.pack("!I", 1 | 4)  # NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO
        _nfq_config(sock, queue, (4, 5), flags)  # NFQA_CFG_MASK, NFQA_CFG_FLAGS
        sock.setblocking(False)
        self.queues.append((sock, queue, delay, deque()))
        if not self._started:
            self._thread.start()
            self._started = True
        else:
            os.write(self._wake_w, b"x")

    def _loop(self):
        try:
            self._run()
        except Exception as exc:  # the packets held are dropped when the sockets close
            print(f"{PROG}: the delay line stopped: {exc!r}", file=sys.stderr)

    def _run(self):
        # wake up on time even though the ranks spin on every core: real-time priority for
        # this thread only (it sleeps between packets), and no timer slack
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass
        # a timed sleep ends late (tens of microseconds, more after a long sleep in a VM): wake
        # up that much early, as measured, and release what is due by then
        late = 0.0
        while not self._stop:
            queues = list(self.queues)
            heads = [q[3][0][0] for q in queues if q[3]]
            wake = min(heads) - late if heads else None
            timeout = max(0.0, wake - time.monotonic()) if heads else 0.2
            ready, _, _ = select.select([q[0] for q in queues] + [self._wake_r], [], [], timeout)
            if not ready and heads and timeout > 0:
                late = min(5e-4, 0.8 * late + 0.2 * max(0.0, time.monotonic() - wake))
            if self._wake_r in ready:
                os.read(self._wake_r, 64)
            for sock, _, delay, pending in queues:
                if sock not in ready:
                    continue
                while True:
                    try:
                        data = sock.recv(1 << 16)
                    except (BlockingIOError, OSError):
                        break
                    now = time.monotonic()
                    for packet_id in _nfq_packet_ids(data):
                        pending.append((now + delay, packet_id))
            now = time.monotonic() + late
            for sock, queue, _, pending in queues:
                last = None
                while pending and pending[0][0] <= now:
                    last = pending.popleft()[1]
                if last is not None:
                    attr = _nla(2, struct.pack("!II", NF_ACCEPT, last))  # NFQA_VERDICT_HDR
                    msg = _nlmsg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT_BATCH, 1, queue, attr)
                    try:
                        sock.send(msg)
                    except OSError:
                        pass

    def close(self):
        """Release what is held and stop (the rules go with their namespaces)."""
        self._stop = True
        os.write(self._wake_w, b"x")
        if self._started:
            self._thread.join(timeout=5)
        for sock, *_ in self.queues:
            sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.queues = []


def _socket_in(ns, *args):
    """A socket created inside the network namespace ``ns`` (this thread returns home)."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        try:
            return socket.socket(*args)
        finally:
            if libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(home)
        os.close(target)


def _nla(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    head = struct.pack("=HH", 4 + len(payload), kind)
    return head + payload + b"\0" * (-len(payload) % 4)


def _nlmsg(kind, flags, queue, payload):
    """A netfilter netlink message for NFQUEUE ``queue``."""
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", queue) + payload
    return struct.pack("=IHHII", 16 + len(body), kind, flags, 0, 0) + body


def _nfq_config(sock, queue, kinds, payload):
    """Send one NFQNL_MSG_CONFIG attribute (or several kinds with one payload) and check the ack."""
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    attrs = b"".join(_nla(k, payload) for k in kinds)
    flags = NLM_F_REQUEST | NLM_F_ACK
    sock.send(_nlmsg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG, flags, queue, attrs))
    data = sock.recv(4096)
    length, kind = struct.unpack_from("=IH", data)
    if kind == NLMSG_ERROR:
        (err,) = struct.unpack_from("=i", data, 16)
        if err:
            raise OSError(-err, f"NFQUEUE {queue} config: {os.strerror(-err)}")


def _nfq_packet_ids(data):
    """The packet ids of the NFQNL_MSG_PACKET messages in one netlink read."""
    ids, offset = [], 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            pos, end = offset + 20, offset + length
            while pos + 4 <= end:
                alen, atype = struct.unpack_from("=HH", data, pos)
                if alen < 4:
                    break
                if atype & 0x7FFF == 1:  # NFQA_PACKET_HDR: id, hw protocol, hook
                    ids.append(struct.unpack_from("!I", data, pos + 4)[0])
                    break
                pos += (alen + 3) & ~3
        offset += (length + 3) & ~3
    return ids


if __name__ == "__main__":
    sys.exit(main())
