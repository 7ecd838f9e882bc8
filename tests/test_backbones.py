import numpy as np
import pytest

from core import WeightsUnavailableError
from core.models.backbones import load_backbone, make_feature_fn


def test_random_weights_and_feature_shapes():
    b = load_backbone("resnet50v2", input_size=32, weights=None)
    assert b.weights_used == "random" and b.tag == "resnet50v2-random-32"
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    assert make_feature_fn(b, "gap")(x).shape == (2, 2048)
    mom = make_feature_fn(b, "moments")(x)
    assert mom.shape == (2, 2, 2048)
    assert np.all(mom[:, 1] >= mom[:, 0] ** 2 - 1e-4)  # E[x^2] >= E[x]^2


def test_preprocess_is_the_backbones_own():
    v2 = load_backbone("resnet50v2", 32, None).preprocess(np.array([[[[0.0, 127.5, 255.0]]]]))
    np.testing.assert_allclose(v2, [[[[-1.0, 0.0, 1.0]]]])
    r50 = load_backbone("resnet50", 32, None).preprocess(np.array([[[[0.0, 0.0, 0.0]]]]))
    np.testing.assert_allclose(r50, [[[[-103.939, -116.779, -123.68]]]], atol=1e-3)


def test_imagenet_offline_raises_naming_the_alternatives_unless_fallback_is_asked(monkeypatch):
    import core.models.backbones as bb

    def failing(*args, **kwargs):
        if kwargs.get("weights") == "imagenet":
            raise Exception("URL fetch failure (simulated offline)")
        return real(*args, **kwargs)

    from keras import applications
    real = applications.ResNet50V2
    monkeypatch.setattr(bb, "_constructors", lambda: {"resnet50v2": (failing, applications.resnet_v2.preprocess_input)})
    with pytest.raises(WeightsUnavailableError, match="--weights random.*--weights FILE") as err:
        load_backbone("resnet50v2", 32, "imagenet")
    assert "\n" not in str(err.value)
    with pytest.warns(UserWarning, match="RANDOM"):  # only when a caller asks for it explicitly
        b = load_backbone("resnet50v2", 32, "imagenet", allow_random_fallback=True)
    assert b.weights_used == "random" and "offline" in b.warning


def test_require_weights_checks_up_front_without_tensorflow(monkeypatch, tmp_path):
    import core.models.backbones as bb

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert bb.imagenet_weights_file("resnet50").parent == tmp_path / "models"
    monkeypatch.setattr(bb, "IMAGENET_BASE_URL", "http://127.0.0.1:9/")  # nothing listens on port 9
    ok, why = bb.imagenet_weights_status("resnet50v2", timeout=1)
    assert not ok and why
    with pytest.raises(WeightsUnavailableError, match="--weights random"):
        bb.require_weights("resnet50v2", "imagenet")
    bb.imagenet_weights_file("resnet50v2").parent.mkdir(parents=True)
    bb.imagenet_weights_file("resnet50v2").write_bytes(b"cached")
    assert bb.imagenet_weights_status("resnet50v2") == (True, f"cached at {bb.imagenet_weights_file('resnet50v2')}")
    bb.require_weights("resnet50v2", "random")
    with pytest.raises(WeightsUnavailableError, match="not found"):
        bb.require_weights("resnet50", tmp_path / "missing.h5")
    assert [bb.weights_label(w) for w in ("imagenet", "random", "/x/w.h5", None)] == [
        "ImageNet", "random initialisation", "file w.h5", "unknown"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown backbone"):
        load_backbone("vgg16")
    with pytest.raises(ValueError, match="input_size"):
        load_backbone("resnet50", 8)
    with pytest.raises(WeightsUnavailableError, match="not found"):
        load_backbone("resnet50", 32, tmp_path / "missing.h5")
