import numpy as np
import pytest

from core import EMOTIONS, ModelFileError
from core.models.classifier import load_classifier, predict_manifest


@pytest.fixture(scope="module")
def fer():
    return load_classifier("fer")


def test_fer_model_by_name(fer):
    assert fer.input_size == 64 and fer.channels == 1 and fer.input_scale == "-1-1"
    assert fer.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    probs = fer.predict_proba([np.full((48, 48), 128, np.uint8), np.zeros((70, 70, 3), np.uint8)])
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_reorders_outputs_to_emotions(fer):
    img = [np.random.default_rng(1).integers(0, 255, (64, 64), dtype=np.uint8)]
    raw = np.asarray(fer.model(fer.prepare(img), training=False))[0]
    mine = fer.predict_proba(img)[0]
    for j, e in enumerate(EMOTIONS):
        assert mine[j] == pytest.approx(raw[fer.classes.index(e)], abs=1e-6)


def test_not_a_model(tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_text("hello")
    with pytest.raises(ModelFileError, match="model.keras"):
        load_classifier(bad)


def test_wrong_extension_and_missing(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_classifier(tmp_path / "nope.keras")
    txt = tmp_path / "weights.txt"
    txt.write_text("x")
    with pytest.raises(ModelFileError, match=r"\.keras or \.h5"):
        load_classifier(txt)


def test_wrong_output_size(tmp_path):
    import keras

    inp = keras.Input((16, 16, 3))
    out = keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inp))
    path = tmp_path / "five.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(ModelFileError, match="7 outputs"):
        load_classifier(path)


def test_not_a_run_folder(tmp_path):
    with pytest.raises(ModelFileError, match="run folder"):
        load_classifier(tmp_path)


def test_predict_manifest_on_real_eila(eila_dir):
    from core.data.datasets import load_eila_crops

    m = load_eila_crops(eila_dir / "faces", eila_dir / "demographics.csv").head(40)
    pred = predict_manifest(load_classifier("fer"), m, batch_size=16)
    assert len(pred) == 40 and set(pred["pred"]) <= set(EMOTIONS)
    assert {"race", "person", "prob_happy", "confidence", "correct", "nll"} <= set(pred.columns)
    assert (pred["correct"] == (pred["true"] == pred["pred"])).all()
