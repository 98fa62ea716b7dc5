"""The training pass measures the wait for each batch apart from the steps' compute (issue 22)."""

import csv
import re
import time

from tinynet.data import ArrayBatches
from tinynet.train import Callback, EpochLog, MetricsCSV, PrintEvery, Trainer

from ..helpers.training import small_model

SLEEP = 0.2  # seconds each batch keeps the trainer waiting


class SlowBatches:
    """Batches that each take ``SLEEP`` seconds to arrive, like a loader that cannot keep up."""

    def __init__(self, images, labels, batch_size):
        self.images, self.labels, self.batch_size = images, labels, batch_size

    def __len__(self):
        return len(self.labels) // self.batch_size

    def __iter__(self):
        for i in range(0, len(self) * self.batch_size, self.batch_size):
            time.sleep(SLEEP)
            yield self.images[i : i + self.batch_size], self.labels[i : i + self.batch_size]


def test_a_slow_loader_is_measured_and_named(data, tmp_path):
    images, labels = data
    batches = SlowBatches(images[:12], labels[:12], 4)
    lines = []
    trainer = Trainer.for_model(small_model(), schedule=None)
    callbacks = [
        PrintEvery(1, print_fn=lambda line, **_: lines.append(line)),
        EpochLog(print_fn=lambda line, **_: lines.append(line)),
        MetricsCSV(tmp_path / "metrics.csv"),
    ]
    (record,) = trainer.fit(batches, epochs=1, callbacks=callbacks)

    assert record["data_seconds"] >= 3 * SLEEP
    assert record["data_seconds"] < record["seconds"]  # the steps' compute is not in it
    steps = [line for line in lines if line.startswith("epoch [1]")]
    assert len(steps) == 3
    for line in steps:
        step_time, data_time = map(float, re.search(r"time (\S+) s  data (\S+) s", line).groups())
        assert data_time >= SLEEP and step_time > data_time
    (notice,) = [line for line in lines if "waiting for data" in line]
    share = 100 * record["data_seconds"] / record["seconds"]
    assert notice.startswith(f"  waiting for data took {share:.0f}% of epoch 1's training time")
    assert "holding training back" in notice and "-j N" in notice and "\n" not in notice
    assert lines.index(notice) == len(lines) - 1  # right under the epoch's line
    (row,) = csv.DictReader(open(tmp_path / "metrics.csv"))
    assert float(row["data_wait_share"]) == float(f"{share / 100:.6g}")
    assert 0.1 < float(row["data_wait_share"]) <= 1


def test_a_fast_loader_gets_no_notice(data, tmp_path):
    images, labels = data
    batches = [(images[i : i + 4], labels[i : i + 4]) for i in range(0, 12, 4)]  # no waiting
    lines = []
    trainer = Trainer.for_model(small_model(), schedule=None)
    log = EpochLog(print_fn=lambda line, **_: lines.append(line))
    (record,) = trainer.fit(batches, epochs=1, callbacks=[log, MetricsCSV(tmp_path / "m.csv")])
    assert 0 <= record["data_seconds"] < 0.1 * record["seconds"]
    assert len(lines) == 1 and "waiting for data" not in lines[0]
    (row,) = csv.DictReader(open(tmp_path / "m.csv"))
    assert 0 <= float(row["data_wait_share"]) < 0.1


def test_a_resumed_epoch_keeps_its_data_time(data, tmp_path):
    images, labels = data

    class StopAfter2(Callback):
        def on_batch_end(self, trainer, phase, meter):
            if phase == "train" and trainer.epoch_step == 2:
                trainer.stop_requested = "SIGINT"

    batches = ArrayBatches(images[:32], labels[:32], 8, seed=3)
    trainer = Trainer.for_model(small_model(), schedule=None)
    trainer.fit(batches, epochs=1, checkpoint=tmp_path / "ck.npz", callbacks=[StopAfter2()])
    saved = Trainer.load(tmp_path / "ck.npz")._resume_meter
    assert saved.data_seconds > 0 and saved.seconds > saved.data_seconds
    resumed = Trainer.load(tmp_path / "ck.npz")
    (record,) = resumed.fit(batches, epochs=1)
    assert record["data_seconds"] >= saved.data_seconds
    assert record["seconds"] >= saved.seconds
