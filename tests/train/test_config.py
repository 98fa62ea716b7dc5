"""tinynet.train.RunConfig: one run configuration for Python and the command line."""

from __future__ import annotations

import inspect

import pytest

from tinynet.models import alexnet
from tinynet.optim import ReduceLROnPlateau
from tinynet.train import RunConfig, Trainer, load_checkpoint

from ..helpers.run_config import OTHER


def small_model():
    return alexnet(num_classes=4, input_size=67, width=0.125, seed=0)


def test_python_defaults_agree_with_the_run_configuration():
    config = RunConfig()
    trainer = Trainer.for_model(small_model())
    assert trainer.config == config
    opt = trainer.optimizer
    assert (opt.lr, opt.momentum, opt.weight_decay) == (config.lr, config.momentum, 5e-4)
    assert isinstance(trainer.schedule, ReduceLROnPlateau)
    assert trainer.schedule.patience == config.patience
    # the model builder's init default is the run's
    assert inspect.signature(alexnet).parameters["init"].default == config.init


def test_a_configuration_is_checked_on_creation():
    with pytest.raises(ValueError, match="RunConfig: lr"):
        RunConfig(lr=-1.0)
    with pytest.raises(ValueError, match="RunConfig: schedule"):
        RunConfig(schedule="exponential")
    with pytest.raises(ValueError, match="RunConfig: image_size 20 is too small"):
        RunConfig(image_size=20)
    with pytest.raises(ValueError, match="warmup"):
        RunConfig(schedule="cosine", epochs=3, warmup=3)
    with pytest.raises(ValueError, match="unknown setting|unexpected keyword"):
        Trainer.for_model(small_model(), learning_rate=0.1)


def test_arch_fills_groups_and_lrn_unless_given():
    assert (RunConfig().groups, RunConfig().no_lrn) == (2, False)
    plain = RunConfig(arch="alexnet-plain")
    assert (plain.groups, plain.no_lrn) == (1, True)
    assert RunConfig(arch="alexnet-plain", groups=2).groups == 2


def test_from_dict_round_trips_and_refuses_foreign_keys():
    config = RunConfig(**OTHER)
    assert RunConfig.from_dict(config.asdict()) == config
    with pytest.raises(ValueError, match=r"unknown \['cooldown'\]"):
        RunConfig.from_dict({**config.asdict(), "cooldown": 1})
    with pytest.raises(ValueError, match=r"missing \['warmup'\]"):
        RunConfig.from_dict({k: v for k, v in config.asdict().items() if k != "warmup"})


def test_for_model_uses_the_configuration_and_records_it(tmp_path):
    config = RunConfig(lr=0.2, schedule="step", step_size=2, start_epoch=3, freeze=1)
    trainer = Trainer.for_model(small_model(), config)
    assert trainer.epoch == 3 and trainer.optimizer.lr == pytest.approx(0.02)  # 0.2 * 0.1 ** 1
    assert trainer.frozen == ["conv1.weight", "conv1.bias"]
    assert "conv1.weight" not in trainer.optimizer.param_names
    trainer.save(tmp_path / "ck.npz")
    assert load_checkpoint(tmp_path / "ck.npz").meta["run"] == config.asdict()
    assert Trainer.load(tmp_path / "ck.npz").config == config


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(batch_size=0), "RunConfig: batch_size must be >= 1, got 0"),
        (dict(lr="high"), "RunConfig: lr must be a real number, got 'high'"),
        (dict(epochs=2.5), "RunConfig: epochs must be an integer, got 2.5"),
        (dict(schedule=["step"]), r"RunConfig: schedule must be one of .*got \['step'\]"),
        (dict(arch=None), "RunConfig: arch must be one of .*got None"),
        (dict(weights=5), "RunConfig: weights must be a string, got 5"),
    ],
)
def test_from_dict_names_the_field_of_a_wrong_value(change, match):
    with pytest.raises(ValueError, match=match):
        RunConfig.from_dict({**RunConfig().asdict(), **change})
