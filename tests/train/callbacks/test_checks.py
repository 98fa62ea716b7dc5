"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

import warnings

import numpy as np
import pytest

from tinynet.data import ArrayBatches
from tinynet.models import alexnet
from tinynet.train import EpochLog, LossPlateauWarning, Trainer, TrainingDiverged

from ...helpers.training import small_model


def test_nan_loss_stops_with_step_and_lr(data):
    images, labels = data
    trainer = Trainer.for_model(small_model(), lr=0.05, schedule=None)
    bad = images[:8].copy()
    bad[0, 0, 0, 0] = np.nan
    before = {name: p.copy() for name, p, _ in trainer.model.named_parameters()}
    with pytest.raises(TrainingDiverged, match=r"step 1 with learning rate 0.05"):
        trainer.fit([(bad, labels[:8])])
    for name, value in before.items():  # nothing was stepped
        np.testing.assert_array_equal(trainer.model.params[name], value)


def test_warns_when_loss_sits_at_chance(data):
    images, labels = data
    model = small_model(init="paper")
    model["fc8"].params["weight"][...] = 0  # uniform predictions: loss is ln(4)
    trainer = Trainer(model, Trainer.for_model(model, lr=0.0).optimizer, None, stall_patience=3)
    with pytest.warns(LossPlateauWarning, match=r"ln\(4\)"):
        trainer.fit(ArrayBatches(images[:32], labels[:32], 8))


def test_no_plateau_warning_while_learning(data):
    images, labels = data
    trainer = Trainer.for_model(small_model(), lr=0.01, schedule=None, stall_patience=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossPlateauWarning)
        trainer.fit(ArrayBatches(images[:8], labels[:8], 8))


def _stuck_trainer(init="he", lr=1e-9, **settings):
    """A trainer whose model predicts every class equally: the loss is ln(4) at every step."""
    model = small_model(init=init)
    model["fc8"].params["weight"][...] = 0
    model["fc8"].params["bias"][...] = 0
    return Trainer.for_model(model, lr=lr, schedule=None, **settings)


def _plateau_message(trainer, images, labels) -> str:
    with pytest.warns(LossPlateauWarning) as caught:
        trainer.fit(ArrayBatches(images[:32], labels[:32], 8))
    (warning,) = [w for w in caught if issubclass(w.category, LossPlateauWarning)]
    return str(warning.message)


def test_stall_advice_is_about_the_init_only_for_the_papers_init(data):
    # issue 25 #27/#30: the paper-init advice was given to every run, 'he' included
    images, labels = data
    paper = _plateau_message(_stuck_trainer("paper", stall_patience=3), images, labels)
    assert paper.startswith("epoch 1, step 3: the training loss has stayed within 1% of ln(4)")
    assert "The paper's init (std 0.01, biases 1)" in paper
    caffe = _plateau_message(_stuck_trainer("caffe", stall_patience=3), images, labels)
    assert "bvlc_alexnet's init" in caffe and "(--init he)" in caffe
    he = _plateau_message(_stuck_trainer("he", stall_patience=3), images, labels)
    assert "paper's init" not in he and "--init" not in he
    assert "not learning at learning rate 1e-09" in he and "--lr 1e-10 and --lr 1e-08" in he


def test_stall_advice_for_a_run_from_weights_is_about_fine_tuning(data):
    images, labels = data  # the paper's init, but the weights came from a file
    trainer = _stuck_trainer("paper", weights="pretrained.npz", stall_patience=3)
    message = _plateau_message(trainer, images, labels)
    assert "paper's init" not in message
    assert "from the weights it started from (pretrained.npz)" in message
    assert "Fine-tuning usually wants a smaller learning rate" in message


def test_the_readme_example_gives_no_stall_warning():
    # issue 25 #30: README's example (2 epochs of 4 steps on noise) was told its init is wrong
    model = alexnet(num_classes=4, input_size=67, width=0.25, init="he", seed=0)
    trainer = Trainer.for_model(model, lr=0.01)
    images = np.random.default_rng(0).standard_normal((64, 3, 67, 67), dtype=np.float32)
    labels = np.arange(64) % 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossPlateauWarning)
        trainer.fit(
            ArrayBatches(images, labels, batch_size=16, seed=0),
            ArrayBatches(images, labels, batch_size=32, shuffle=False),
            epochs=2,
        )
    assert len(trainer.history) == 2


def _constant_guess_trainer(patience):
    """Predicts class 0 for every image: accuracy at chance (25%), the loss far from ln(4), so
    only the epoch-end accuracy check can see it."""
    model = small_model()
    model["fc8"].params["weight"][...] = 0
    model["fc8"].params["bias"][...] = [10, 0, 0, 0]
    return Trainer.for_model(model, lr=0.0, schedule=None, stall_patience=patience)


def _lines_and_warnings(trainer, images, labels, epochs):
    lines = []

    def show(message, category, *args, **kwargs):
        lines.append(f"warning: {message}")

    # 4 steps an epoch, 8 images of each class: a constant guess is right for 25% of them
    batches = ArrayBatches(images[::2], labels[::2], 8, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("always", LossPlateauWarning)
        warnings.showwarning = show
        log = EpochLog(print_fn=lambda line, **_: lines.append(line))
        trainer.fit(batches, batches, epochs=epochs, callbacks=[log])
    return lines


def test_stall_warning_follows_the_epoch_line_it_is_about(data):
    # issue 25 #30: the warning came out before the line of the epoch it was about
    images, labels = data
    lines = _lines_and_warnings(_constant_guess_trainer(patience=8), images, labels, epochs=3)
    assert [line.split()[0] for line in lines] == ["epoch", "epoch", "warning:", "epoch"]
    assert lines[1].startswith("epoch 2/3")
    assert lines[2].startswith(
        "warning: epochs 1-2 (8 steps, to step 8): training and validation accuracy stayed at "
        "chance level (25%): the network is not learning: its learning rate is 0."
    )


def test_no_stall_warning_before_patience_steps(data):
    # issue 25 #30: two short epochs at chance (16 steps) warned with stall_patience=300
    images, labels = data
    lines = _lines_and_warnings(_constant_guess_trainer(patience=9), images, labels, epochs=2)
    assert not [line for line in lines if line.startswith("warning")]
    lines = _lines_and_warnings(_constant_guess_trainer(patience=9), images, labels, epochs=3)
    assert lines[-1].startswith("warning: epochs 1-3 (12 steps, to step 12)")  # at fit's end


def test_stall_counts_survive_a_resume(data, tmp_path):
    images, labels = data
    first = _constant_guess_trainer(patience=12)
    assert not [x for x in _lines_and_warnings(first, images, labels, 2) if x[:8] == "warning:"]
    first.save(tmp_path / "c.npz")
    resumed = Trainer.load(tmp_path / "c.npz")
    resumed.callbacks[1].patience = 12  # Trainer.load makes the default
    lines = _lines_and_warnings(resumed, images, labels, epochs=3)
    assert lines[-1].startswith("warning: epochs 1-3 (12 steps, to step 12)")
