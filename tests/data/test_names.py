"""Tests of ``tinynet.data.names``."""

import pytest

from tinynet.data import DatasetError, class_names

from ..helpers.images import write_dataset
from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no worker left)


def test_classes_txt_not_utf8_names_the_file(tmp_path):
    root = write_dataset(tmp_path / "ds")
    (root / "classes.txt").write_bytes("a café\nb thé\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=rf"^'{root}/classes.txt' is not UTF-8 .*save it as"):
        class_names(root)


def test_imagenet_wnids_get_their_words(tmp_path):
    wnids = ("n01440764", "n15075141", "n99999999", "zebra")
    root = write_dataset(tmp_path / "ds", train=wnids, val=wnids, per_class=1)
    assert class_names(root) == [
        "tench, Tinca tinca",
        "toilet tissue, toilet paper, bathroom tissue",
        "n99999999",
        "zebra",
    ]
    (root / "classes.txt").write_text("n01440764 my fish\n")
    assert class_names(root)[0] == "my fish", "a classes file still wins"


# -------------------------------------------------------------- class_names
def test_class_names_from_loc_synset_mapping(tmp_path):
    wnids = ("n01440764", "n01443537")
    root = write_dataset(tmp_path / "ds", train=wnids, val=wnids)
    (root / "LOC_synset_mapping.txt").write_text(
        "n01443537 goldfish, Carassius auratus\nn01440764 tench, Tinca tinca\nn09999999 other\n"
    )
    assert class_names(root) == ["tench, Tinca tinca", "goldfish, Carassius auratus"]


def test_class_names_from_classes_txt_pairs_and_lines(tmp_path):
    root = write_dataset(tmp_path / "ds")
    assert class_names(root) == ["a", "b"], "no mapping file: folder names"
    (root / "classes.txt").write_text("b Bee\na Ay\n")
    assert class_names(root) == ["Ay", "Bee"]
    (root / "classes.txt").write_text("first class\nsecond class\n")
    assert class_names(root) == ["first class", "second class"]
    (root / "classes.txt").write_text("only one line\n")
    with pytest.warns(UserWarning, match="classes.txt"):
        assert class_names(root) == ["a", "b"]
