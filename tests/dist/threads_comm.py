"""A pretend MPI job in one process: each rank a thread, each collective summed once every rank
has started it (in the order each rank started its collectives, as MPI requires)."""

import threading

import numpy as np

from tinynet.dist import LocalComm

TIMEOUT = 30


class World:
    """``size`` ranks; ``comm(rank)`` is one rank's communicator."""

    def __init__(self, size: int):
        self.size = size
        self.calls: list[dict] = []  # per collective: rank -> buffer
        self.done: list[bool] = []
        self.cond = threading.Condition()

    def comm(self, rank: int):
        return ThreadComm(self, rank)

    def run(self, fn):
        """``fn(comm)`` on every rank at once; returns their results (re-raises an error)."""
        results, errors = [None] * self.size, []

        def target(rank):
            try:
                results[rank] = fn(self.comm(rank))
            except BaseException as err:  # noqa: BLE001 - re-raised below
                errors.append(err)
                with self.cond:
                    self.cond.notify_all()

        threads = [threading.Thread(target=target, args=(r,)) for r in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        if errors:
            raise errors[0]
        return results


class ThreadRequest:
    def __init__(self, world, index, buf):
        self.world, self.index, self.buf = world, index, buf
        self.tests = 0

    def test(self):
        self.tests += 1
        return self.world.done[self.index]

    def wait(self):
        with self.world.cond:
            if not self.world.cond.wait_for(lambda: self.world.done[self.index], TIMEOUT):
                raise TimeoutError(f"collective {self.index} never completed")
        return self.buf


class ThreadComm(LocalComm):
    """One rank of a ``World``; ``started`` lists the sizes of the sums it started."""

    def __init__(self, world, rank):
        self.world, self.rank, self.size = world, rank, world.size
        self.started: list[int] = []

    def iallreduce_sum(self, buf):
        world = self.world
        with world.cond:
            index = len(self.started)
            self.started.append(buf.size)
            if index == len(world.calls):
                world.calls.append({})
                world.done.append(False)
            call = world.calls[index]
            call[self.rank] = buf
            if len(call) == world.size:
                shapes = {b.shape for b in call.values()}
                assert len(shapes) == 1, f"collective {index}: the ranks gave shapes {shapes}"
                total = call[0].copy()
                for rank in range(1, world.size):
                    total += call[rank]
                for b in call.values():
                    np.copyto(b, total)
                world.done[index] = True
                world.cond.notify_all()
        return ThreadRequest(world, index, buf)

    def allreduce_sum(self, buf):
        return self.iallreduce_sum(buf).wait()
