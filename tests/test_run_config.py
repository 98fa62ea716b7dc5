"""tinynet.train.RunConfig: one run configuration for Python and the command line."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from tinynet.cli import main
from tinynet.cli.args import build_parser, flag, parse_args
from tinynet.cli.settings import new_run
from tinynet.models import alexnet
from tinynet.optim import ReduceLROnPlateau
from tinynet.train import DEMO, RunConfig, Trainer, load_checkpoint

from .toy_data import write_colour_folders

SETTINGS = [f for f in dataclasses.fields(RunConfig) if f.metadata]
#: A value other than the default for each setting, as typed and as parsed.
OTHER = dict(
    arch="alexnet-plain", image_size=99, width=0.5, groups=1, no_lrn=True, init="caffe",
    epochs=7, start_epoch=3, batch_size=16, lr=0.05, momentum=0.5, weight_decay=1e-3,
    schedule="cosine", patience=4, step_size=9, warmup=2, seed=11, freeze=2,
)  # fmt: skip


def small_model():
    return alexnet(num_classes=4, input_size=67, width=0.125, seed=0)


def test_every_setting_has_an_option_that_parses_to_it():
    assert {f.name for f in SETTINGS} == set(OTHER)
    for f in SETTINGS:
        typed = [] if f.name == "no_lrn" else [str(OTHER[f.name])]
        args = parse_args(["--demo", flag(f.name), *typed])
        assert getattr(args, f.name) == OTHER[f.name], f.name
        assert args.explicit == {f.name}


def test_the_help_gives_each_default_and_the_demo_ones():
    text = " ".join(build_parser().format_help().split())
    for f in SETTINGS:
        if f.default is not None:
            assert f"(default {f.default}" in text, f.name
    for name, value in DEMO.items():
        assert f"{flag(name)} {value}" in text


def test_the_command_line_defaults_are_python_s():
    assert new_run(parse_args(["./data"])) == RunConfig()
    assert new_run(parse_args(["--demo"])) == RunConfig.demo() == RunConfig(**DEMO)
    typed = new_run(parse_args(["./data", "--lr", "0.05", "--schedule", "step"]))
    assert typed == dataclasses.replace(RunConfig(), lr=0.05, schedule="step")


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


def test_warmup_and_cosine_from_the_command_line_and_on_resume(tmp_path, capsys):
    data = write_colour_folders(tmp_path / "colours")
    out = tmp_path / "run"
    small = ["--image-size", "67", "--width", "0.125", "-j", "0", "--no-progress", "-b", "6"]
    argv = [str(data), "--output", str(out), *small, "--lr", "0.01"]
    assert main([*argv, "--schedule", "cosine", "--warmup", "1", "--epochs", "2"]) == 0
    history = load_checkpoint(out / "checkpoint.npz").meta["history"]
    assert [r["lr"] for r in history] == pytest.approx([0.005, 0.01])  # warm-up, then cosine's top
    resume = ["--resume", str(out / "checkpoint.npz"), "--epochs", "3", "--lr", "0.02"]
    assert main([str(data), "--output", str(out), "-j", "0", "--no-progress", *resume]) == 0
    assert "changed: --lr 0.02 (the checkpoint's run had 0.01)" in capsys.readouterr().out
    meta = load_checkpoint(out / "checkpoint.npz").meta
    # epoch 3 of 3 on the new base rate: t = 1 of T = 2 after warm-up
    assert meta["history"][-1]["lr"] == pytest.approx(0.02 * (1 + np.cos(np.pi / 2)) / 2)
    assert meta["run"]["lr"] == 0.02 and meta["run"]["epochs"] == 3


def test_a_bad_combination_is_one_line(tmp_path, capsys):
    data = write_colour_folders(tmp_path / "colours")
    argv = [str(data), "--schedule", "cosine", "--warmup", "5", "--epochs", "5", "-j", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("alexnet.py: error: warmup (5) must be shorter") and err.count("\n") == 1
