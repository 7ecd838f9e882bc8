"""AppTest: the app and every page listed in app.PAGES run without exception on the embedded default."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data.demo import DemoConfig, ensure_demo
from core.data.registry import list_datasets

from tests._app_pages import EXISTING, REPO
from tests._artifacts import private_artifacts

#: a small demo keeps page runs fast; pages do not depend on its size
SMALL = DemoConfig(n_persons={"Light": 4, "Medium": 4, "Dark": 3}, images_per_person=7, image_size=64)


def _run(script: str, timeout: int = 180) -> AppTest:
    at = AppTest.from_file(str(REPO / script), default_timeout=timeout)
    return at.run()


def _failures(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [getattr(e, "stack_trace", "") for e in at.exception]


@pytest.fixture(scope="module")
def demo_artifacts(tmp_path_factory) -> Path:
    """An artifacts folder holding only the embedded default (the synthetic demo), made once."""
    path = tmp_path_factory.mktemp("default") / "artifacts"
    ensure_demo(path, config=SMALL)
    return path


@pytest.fixture()
def fresh_default(demo_artifacts, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the embedded default for one page run."""
    return private_artifacts(demo_artifacts, tmp_path, monkeypatch)


def test_pages_list_includes_the_foundation_pages():
    assert {"pages/home.py", "pages/data.py"} <= set(EXISTING)


def test_app_on_an_empty_artifacts_folder_generates_the_demo(artifacts):
    at = _run("app.py")
    assert not at.exception, _failures(at)
    assert at.title[0].value == "FER Bias Lab"
    infos = list_datasets(artifacts)
    assert [i.name for i in infos] == ["Synthetic demo"] and infos[0].synthetic
    assert any("synthetic" in i.value for i in at.info)


@pytest.mark.parametrize("page", EXISTING)
def test_page_runs_on_the_embedded_default(page, fresh_default):
    at = _run(page)
    assert not at.exception, _failures(at)


def _select_dataset(at: AppTest, name: str) -> AppTest:
    box = at.selectbox(key="data_dataset")
    return box.select_index(next(i for i, o in enumerate(box.options) if o.startswith(name))).run()


def _tiny_tree(root: Path) -> Path:
    for split, label in (("train", "Happy"), ("train", "Sad"), ("validation", "Happy"), ("train", "Contempt")):
        d = root / split / label
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / "1.png"), np.full((8, 8), 120, np.uint8))
    return root


@pytest.mark.filterwarnings("ignore:.*excluded 1 sample")
def test_data_page_registers_reports_and_removes(fresh_default, tmp_path):
    at = _run("pages/data.py")
    assert not at.exception, _failures(at)
    # a bad path: the loader's error, naming the folder, in st.error
    at.text_input(key="data_name").input("Tiny")
    at.text_input(key="data_path").input(str(tmp_path / "no_such_folder"))
    at.button(key="data_register").click().run()
    assert not at.exception, _failures(at)
    assert any("no_such_folder" in e.value and "folder not found" in e.value for e in at.error)
    # a real folder: registered, with the excluded label reported
    at.text_input(key="data_path").input(str(_tiny_tree(tmp_path / "tiny"))).run()
    at.button(key="data_register").click().run()
    assert not at.exception, _failures(at)
    assert any("Registered 'Tiny': 3 samples" in s.value and "1 excluded" in s.value for s in at.success)
    assert sorted(i.name for i in list_datasets(fresh_default)) == ["Synthetic demo", "Tiny"]
    # pick it, look at it, remove it
    _select_dataset(at, "Tiny")
    assert not at.exception, _failures(at)
    assert any("Contempt: 1" in w.value for w in at.warning)
    at.checkbox(key="data_remove_confirm").check().run()
    at.button(key="data_remove").click().run()
    assert not at.exception, _failures(at)
    assert [i.name for i in list_datasets(fresh_default)] == ["Synthetic demo"]


def test_removed_demo_is_not_redrawn_until_asked(fresh_default):
    at = _run("pages/data.py")
    at.checkbox(key="data_remove_confirm").check().run()
    at.button(key="data_remove").click().run()
    assert not at.exception, _failures(at)
    assert list_datasets(fresh_default) == []
    at = _run("pages/home.py")
    assert not at.exception and list_datasets(fresh_default) == []
    at = _run("pages/data.py")
    at.number_input(key="data_demo_n_Light").set_value(3)
    at.number_input(key="data_demo_n_Medium").set_value(3)
    at.number_input(key="data_demo_ipp").set_value(7)
    at.button(key="data_demo_go").click().run()
    assert not at.exception, _failures(at)
    info = list_datasets(fresh_default)
    assert [i.name for i in info] == ["Synthetic demo"] and info[0].n_samples == (3 + 3 + 40) * 7


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_data_page_on_real_files(fresh_default, eila_dir, utkface_dir):
    """EiLA annotations (no images, persons, race) and UTKFace (no labels, malformed names) through the page."""
    at = _run("pages/data.py")
    at.selectbox(key="data_fmt").set_value("eila-annotations").run()
    at.text_input(key="data_name").input("EiLA frames")
    at.text_input(key="data_path").input(str(eila_dir / "annotations.csv"))
    at.text_input(key="data_demographics").input(str(eila_dir / "demographics.csv"))
    at.button(key="data_register").click().run()
    assert not at.exception, _failures(at)
    assert any("Registered 'EiLA frames': 8,087 samples" in s.value for s in at.success), [e.value for e in at.error]
    at.selectbox(key="data_fmt").set_value("utkface").run()
    at.text_input(key="data_name").input("UTKFace")
    at.text_input(key="data_path").input(str(utkface_dir))
    at.button(key="data_register").click().run()
    assert not at.exception, _failures(at)
    assert any("Registered 'UTKFace': 1,500 samples" in s.value and "3 skipped" in s.value for s in at.success)
    for name in ("EiLA frames", "UTKFace"):
        _select_dataset(at, name)
        assert not at.exception, _failures(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Samples"] == "1,500" and metrics["With emotion label"] == "0"
    _select_dataset(at, "EiLA frames")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test"] == "902" and metrics["Distinct persons"] != "not recorded"
    assert any("no image files" in i.value for i in at.info)


def test_data_page_registers_eila_person_disjoint(fresh_default, eila_dir):
    at = _run("pages/data.py")
    at.selectbox(key="data_fmt").set_value("eila-annotations").run()
    assert any("leaks identities" in c.value for c in at.caption)  # the seed's rule is the default, labelled
    at.radio(key="data_split_rule_eila-annotations").set_value("person-disjoint").run()
    at.number_input(key="data_split_seed_eila-annotations").set_value(1)
    at.text_input(key="data_name").input("EiLA disjoint")
    at.text_input(key="data_path").input(str(eila_dir / "annotations.csv"))
    at.text_input(key="data_demographics").input(str(eila_dir / "demographics.csv"))
    at.button(key="data_register").click().run()
    assert not at.exception, _failures(at)
    info = next(i for i in list_datasets(fresh_default) if i.name == "EiLA disjoint")
    assert info.n_samples == 8087 and info.source["split_rule"] == "person-disjoint" and info.source["split_seed"] == "1"
