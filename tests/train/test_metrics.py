"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

import numpy as np

from tinynet.dist import LOCAL
from tinynet.train import Meter, Trainer, load_checkpoint, topk_correct


def test_topk_correct():
    scores = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    assert topk_correct(scores, np.array([2, 0, 0]), ks=(1, 2, 5)) == {1: 1, 2: 2, 5: 3}


def test_meter_state_round_trips_with_its_data_time():
    meter = Meter(images=8, loss_sum=11.5, top1=3, top5=7, seconds=2.5, data_seconds=0.75)
    state = meter.state_dict()
    assert state["data_seconds"] == 0.75
    again = Meter(**state)
    assert again.state_dict() == state
    assert Meter().data_seconds == 0.0  # a new field has a default
    stats = again.total(LOCAL)
    assert (stats.seconds, stats.data_seconds, stats.data_share) == (2.5, 0.75, 0.3)


def test_meter_data_time_goes_through_a_checkpoint(saved, tmp_path):
    trainer = Trainer.load(saved)
    meter = Meter(images=4, loss_sum=5.0, top1=1, top5=4, seconds=1.25, data_seconds=0.5)
    trainer.save(tmp_path / "mid.npz", epoch_meter=meter)
    assert load_checkpoint(tmp_path / "mid.npz").meta["epoch_meter"] == meter.state_dict()
    assert Trainer.load(tmp_path / "mid.npz")._resume_meter.state_dict() == meter.state_dict()
