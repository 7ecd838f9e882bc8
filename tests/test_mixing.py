"""Mixing rule, Table 3 sizes, determinism and the preset."""
from __future__ import annotations

import pandas as pd
import pytest

from core import DataFormatError
from core.data.labels import EMOTIONS
from core.mixing import (TABLE3, TABLE3_SIZES, MixSpec, build_mix, evaluation_manifest, mix, mix_counts,
                         spec_sizes, table3_preset)

# Training-set class counts of the seed's Tables 7, 8 and 9 (EMOTIONS order: angry, disgust, fear, happy,
# neutral, sad, surprise).
FER2013_TRAIN = (3995, 436, 4097, 7215, 4965, 4830, 3171)
SFEW_TRAIN = (178, 52, 78, 184, 144, 161, 94)
EILA_TRAIN = (944, 96, 76, 1053, 2516, 122, 45)


def manifest(name: str, train: tuple[int, ...], validation: tuple[int, ...] = (), test: tuple[int, ...] = ()
             ) -> pd.DataFrame:
    rows = []
    for split, counts in (("train", train), ("validation", validation), ("test", test)):
        for label, n in zip(EMOTIONS, counts):
            rows += [{"sample_id": f"{name}:{split}/{label}/{i}", "path": f"/x/{name}/{split}/{label}/{i}.png",
                      "dataset": name, "split": split, "label": label} for i in range(n)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def seed_datasets() -> dict[str, pd.DataFrame]:
    """Synthetic manifests with the seed's training class counts (validation: a few rows per class)."""
    return {"EiLA": manifest("EiLA", EILA_TRAIN, (30,) * 7, (9,) * 7),
            "FER2013": manifest("FER2013", FER2013_TRAIN, (5,) * 7),
            "SFEW": manifest("SFEW", SFEW_TRAIN, (4,) * 7)}


def test_floor_rule_reproduces_table3_training_sizes(seed_datasets):
    sizes = spec_sizes(TABLE3, seed_datasets).set_index("configuration")["train"].to_dict()
    assert sizes == {name: train for name, (train, _) in TABLE3_SIZES.items()}
    assert sizes["SFEW + 10% EiLA"] == 891 + 482 == 1373  # 94+9+7+105+251+12+4 EiLA rows


def test_per_class_floor_counts(seed_datasets):
    out = mix(seed_datasets["SFEW"], seed_datasets["EiLA"], 0.3, seed=0)
    added = mix_counts(out).loc[("EiLA", "train")]
    assert added.tolist() == [283, 28, 22, 315, 754, 36, 13]
    assert mix_counts(out).loc[("EiLA", "validation")].tolist() == [9] * 7  # floor(0.3 * 30) per class


def test_every_base_row_kept_and_extra_test_never_mixed(seed_datasets):
    base = seed_datasets["SFEW"]
    out = mix(base, seed_datasets["EiLA"], 1.0, seed=3)
    assert out.iloc[:len(base)]["sample_id"].tolist() == base["sample_id"].tolist()
    extra_rows = out[out["dataset"] == "EiLA"]
    assert set(extra_rows["split"]) == {"train", "validation"}
    assert len(extra_rows) == sum(EILA_TRAIN) + 30 * 7


def test_deterministic_seeded_and_nested(seed_datasets):
    base, extra = seed_datasets["SFEW"], seed_datasets["EiLA"]
    a = mix(base, extra, 0.1, seed=0)
    b = mix(base.sample(frac=1, random_state=1), extra.sample(frac=1, random_state=2), 0.1, seed=0)
    assert set(a["sample_id"]) == set(b["sample_id"])  # row order of the inputs does not matter
    assert a["sample_id"].tolist() == mix(base, extra, 0.1, seed=0)["sample_id"].tolist()
    other = mix(base, extra, 0.1, seed=1)
    assert len(other) == len(a) and set(other["sample_id"]) != set(a["sample_id"])
    bigger = mix(base, extra, 0.3, seed=0)
    assert set(a["sample_id"]) <= set(bigger["sample_id"])


def test_fraction_is_exact_not_float_rounded():
    base = manifest("A", (1,) * 7)
    extra = manifest("B", (100,) + (0,) * 6)
    assert (mix(base, extra, 0.29)["dataset"] == "B").sum() == 29  # 0.29 * 100 is 28.999... in floating point
    assert (mix(base, extra, 0.0)["dataset"] == "B").sum() == 0


def test_bad_inputs_are_clear(seed_datasets):
    with pytest.raises(ValueError, match="fraction"):
        mix(seed_datasets["SFEW"], seed_datasets["EiLA"], 1.5)
    with pytest.raises(DataFormatError, match="share"):
        mix(seed_datasets["SFEW"], seed_datasets["SFEW"], 0.5)
    with pytest.raises(DataFormatError, match="missing required column"):
        mix(seed_datasets["SFEW"].drop(columns="label"), seed_datasets["EiLA"], 0.5)
    with pytest.raises(ValueError, match="same dataset"):
        MixSpec("x", "EiLA", "EiLA", 0.1)
    with pytest.raises(ValueError, match="BASE"):
        MixSpec.parse("SFEW+EiLA")
    with pytest.raises(DataFormatError, match="needs dataset 'Nope'"):
        build_mix(MixSpec("x", "Nope"), seed_datasets)


def test_preset_and_parse():
    names = [s.name for s in table3_preset()]
    assert names == list(TABLE3_SIZES) and len(names) == 11
    renamed = table3_preset(eila="eila-crops", fer2013="fer", sfew="sfew2", seed=4)
    assert renamed[3] == MixSpec("SFEW + 10% EiLA", "sfew2", "eila-crops", 0.1, 4)
    assert MixSpec.parse("SFEW+EiLA:10%") == MixSpec("SFEW + 10% EiLA", "SFEW", "EiLA", 0.1)
    assert MixSpec.parse("FER2013 + EiLA:0.5", seed=2) == MixSpec("FER2013 + 50% EiLA", "FER2013", "EiLA", 0.5, 2)
    assert MixSpec.parse("EiLA") == MixSpec("EiLA only", "EiLA")


def test_build_mix_drops_test_rows_and_evaluation_split(seed_datasets):
    out = build_mix(MixSpec("EiLA only", "EiLA"), seed_datasets)
    assert set(out["split"]) == {"train", "validation"} and len(out) == sum(EILA_TRAIN) + 210
    ev = evaluation_manifest(seed_datasets["EiLA"], "test")
    assert len(ev) == 63 and set(ev["split"]) == {"test"}
    with pytest.raises(DataFormatError, match="no labelled rows in split 'test'.*'train'"):
        evaluation_manifest(seed_datasets["SFEW"], "test", "sfew/manifest.parquet")
