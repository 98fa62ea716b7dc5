"""notebooks/README.md is the course map, and the notebooks agree with it.

The map's first table gives the order; every notebook (lectures and exercises) is in it once, and
each opens with its objectives and with links to what comes before and after it in that order. The
map's second table says which exercise practises which lecture; both sides link to each other.
Every exercise notebook ends with written questions whose answers are in solutions/answers/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
COURSE_MAP = NOTEBOOK_DIR / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)\)")


def section(text: str, title: str) -> str:
    """The body of the Markdown section whose heading starts with ``title``."""
    match = re.search(rf"^#+ {re.escape(title)}.*?\n(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert match, f"notebooks/README.md has no section '{title}'"
    return match.group(1)


def table_rows(body: str) -> list[list[str]]:
    """The cells of each row of the first Markdown table in ``body`` (header and rule dropped)."""
    rows = [line for line in body.splitlines() if line.startswith("|")]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows[2:]]


def links(text: str) -> list[str]:
    return LINK.findall(text)


def course_order() -> list[str]:
    """The notebooks in the map's order, as paths relative to notebooks/."""
    rows = table_rows(section(COURSE_MAP.read_text(encoding="utf-8"), "The order"))
    return [next(t for t in links(row[1]) if t.endswith(".ipynb")) for row in rows]


def practice() -> dict[str, list[str]]:
    """exercise -> the lectures it practises, from the map's second table."""
    rows = table_rows(section(COURSE_MAP.read_text(encoding="utf-8"), "Lectures and exercises"))
    return {links(row[0])[0]: links(row[1]) for row in rows}


def first_cell(path: str) -> str:
    nb = json.loads((NOTEBOOK_DIR / path).read_text(encoding="utf-8"))
    cell = nb["cells"][0]
    assert cell["cell_type"] == "markdown", f"{path}: the first cell is not markdown"
    return "".join(cell["source"])


def labelled(text: str, label: str, path: str) -> str:
    """The rest of the line that starts with ``**label**``."""
    match = re.search(rf"^\*\*{re.escape(label)}\*\*(.*)$", text, re.M)
    assert match, f"{path}: the first cell has no line starting with **{label}**"
    return match.group(1)


def resolve(path: str, target: str) -> str:
    """``target``, linked from the notebook at ``path``, as a path relative to notebooks/."""
    return (
        (NOTEBOOK_DIR / path).parent.joinpath(target).resolve().relative_to(NOTEBOOK_DIR).as_posix()
    )


def all_notebooks() -> list[str]:
    found = (p.relative_to(NOTEBOOK_DIR) for p in NOTEBOOK_DIR.rglob("*.ipynb"))
    return sorted(p.as_posix() for p in found if not any(s.startswith(".") for s in p.parts))


def test_the_map_lists_every_notebook_once():
    order = course_order()
    assert sorted(order) == all_notebooks(), "the course map and notebooks/ disagree"
    assert len(set(order)) == len(order)


def test_the_map_gives_a_time_and_prerequisites_for_each():
    rows = table_rows(section(COURSE_MAP.read_text(encoding="utf-8"), "The order"))
    for row in rows:
        assert re.search(r"\d+ (s|min)", row[-1]), f"no time for {row[1]}"
        assert row[2], f"no prerequisites for {row[1]}"


@pytest.mark.parametrize("path", all_notebooks())
def test_every_notebook_opens_with_its_objectives(path):
    text = first_cell(path)
    after = text.split("**Objectives.**", 1)
    assert len(after) == 2, f"{path}: the first cell has no **Objectives.**"
    bullets = re.findall(r"^- \S", after[1].split("\n\n**", 1)[0], re.M)
    assert len(bullets) >= 2, f"{path}: fewer than two objectives"
    labelled(text, "Prerequisites:", path)


@pytest.mark.parametrize("path", all_notebooks())
def test_next_links_the_next_notebook_of_the_map(path):
    order = course_order()
    i = order.index(path)
    expected = order[i + 1] if i + 1 < len(order) else "README.md"
    targets = [resolve(path, t) for t in links(labelled(first_cell(path), "Next:", path))]
    assert targets == [expected], f"{path}: Next links {targets}, the map says {expected}"


@pytest.mark.parametrize("path", all_notebooks())
def test_links_in_the_first_cell_resolve(path):
    for target in links(first_cell(path)):
        if not target.startswith(("http://", "https://")):
            assert (NOTEBOOK_DIR / path).parent.joinpath(target).exists(), f"{path}: {target}"


def test_exercises_and_lectures_link_each_other():
    pairs = practice()
    assert pairs, "the map's 'Lectures and exercises' table is empty"
    lectures_of = {ex: sorted(lectures) for ex, lectures in pairs.items()}
    for exercise, lectures in lectures_of.items():
        text = first_cell(exercise)
        linked = sorted(resolve(exercise, t) for t in links(labelled(text, "Practises:", exercise)))
        assert linked == lectures, f"{exercise}: Practises {linked}, the map says {lectures}"
    for lecture in {lec for lectures in lectures_of.values() for lec in lectures}:
        text = first_cell(lecture)
        linked = sorted(
            resolve(lecture, t) for t in links(labelled(text, "Practised in:", lecture))
        )
        expected = sorted(ex for ex, lectures in lectures_of.items() if lecture in lectures)
        assert linked == expected, f"{lecture}: Practised in {linked}, the map says {expected}"


def test_every_exercise_comes_after_the_lectures_it_practises():
    order = course_order()
    for exercise, lectures in practice().items():
        for lecture in lectures:
            assert order.index(lecture) < order.index(exercise), (exercise, lecture)


def test_the_map_has_a_glossary_and_its_links_resolve():
    text = COURSE_MAP.read_text(encoding="utf-8")
    terms = re.findall(r"^- \*\*[^*]+\*\*", section(text, "Glossary"), re.M)
    assert len(terms) >= 15
    for target in links(text):
        if not target.startswith(("http://", "https://")):
            assert (NOTEBOOK_DIR / target).exists(), target


EXERCISES = sorted(p.name for p in (NOTEBOOK_DIR / "exercises").glob("*.ipynb"))


@pytest.mark.parametrize("name", EXERCISES)
def test_every_exercise_has_written_questions_answered_in_solutions(name):
    nb = json.loads((NOTEBOOK_DIR / "exercises" / name).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "questions" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{name}: expected one cell tagged 'questions'"
    asked = re.findall(r"^\*\*Q(\d+)\.\*\*", "".join(cells[0]["source"]), re.M)
    assert len(asked) >= 3 and asked == [str(i) for i in range(1, len(asked) + 1)], asked
    answers = NOTEBOOK_DIR / "exercises" / "solutions" / "answers" / f"{Path(name).stem}.md"
    assert answers.is_file(), f"{name}: no answers in {answers.relative_to(ROOT)}"
    parts = re.split(r"^\*\*Q(\d+)\.\*\*", answers.read_text(encoding="utf-8"), flags=re.M)
    answered = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert list(answered) == asked, (
        f"{answers.name} answers {list(answered)}, the notebook asks {asked}"
    )
    for q, answer in answered.items():
        assert len(answer.split()) >= 20, f"{answers.name}: the answer to Q{q} is too short"


def test_the_notebooks_extra_brings_a_front_end():
    """`pip install -e ".[notebooks]"` gives `jupyter lab` and `jupyter nbconvert`, not only a
    kernel."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^notebooks = \[(.*?)\]", text, re.M | re.S)
    assert extra, "pyproject.toml has no notebooks extra"
    wanted = set(re.findall(r'"([A-Za-z0-9_.-]+)', extra.group(1)))
    assert {"jupyterlab", "nbconvert", "ipykernel", "matplotlib"} <= wanted
