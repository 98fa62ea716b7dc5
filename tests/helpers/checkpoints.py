"""Bad checkpoint contents: a one-line CheckpointError naming the file, before anything is built."""

from tinynet.train import load_checkpoint, save_checkpoint


def edited(saved, tmp_path, edit):
    """A copy of ``saved`` whose contents went through ``edit(checkpoint)``."""
    ck = load_checkpoint(saved)
    edit(ck)
    states = dict(model_state=ck.model_state, optimizer_state=ck.optimizer_state)
    path = tmp_path / "edited.npz"
    return save_checkpoint(path, **states, schedule_state=ck.schedule_state, meta=ck.meta)
