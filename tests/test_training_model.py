"""Config validation, model structure, preprocessing inside the model, unfreezing."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from core.training import TrainConfig
from core.training.model import backbone_of, build_model, preprocessing_layer, unfreeze_top


def test_config_defaults_are_the_seed_recipe_and_round_trip():
    cfg = TrainConfig()
    assert (cfg.backbone, cfg.weights, cfg.input_size, cfg.head_units, cfg.dropout) == \
        ("resnet50v2", "imagenet", 224, (512, 256, 128, 64), 0.1)
    assert (cfg.optimizer, cfg.phase1_learning_rate, cfg.phase1_epochs) == ("adamax", 1e-4, 15)
    assert (cfg.phase2_learning_rate, cfg.phase2_epochs, cfg.unfreeze_layers) == (1e-5, 35, 10)
    assert (cfg.early_stopping_patience, cfg.reduce_lr_factor, cfg.reduce_lr_patience, cfg.min_learning_rate) == \
        (15, 0.2, 3, 1e-7)
    assert (cfg.monitor, cfg.batch_size, cfg.loss) == ("val_loss", 32, "categorical_crossentropy")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig(weights=None).weights == "random"
    with pytest.raises(AttributeError):
        cfg.seed = 3  # frozen


@pytest.mark.parametrize("bad, match", [
    ({"input_size": 16}, "input_size"), ({"dropout": 1.0}, "dropout"), ({"batch_size": 0}, "batch_size"),
    ({"class_weight": "auto"}, "class_weight"), ({"backbone": "vgg"}, "backbone"),
    ({"reduce_lr_factor": 1.5}, "reduce_lr_factor"), ({"phase1_learning_rate": 0}, "phase1_learning_rate"),
    ({"phase2_mode": "gpu"}, "phase2_mode"), ({"head_units": ()}, "head_units"), ({"seed": True}, "seed"),
])
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**bad)


def test_config_from_dict_names_unknown_keys():
    with pytest.raises(ValueError, match="learning_rte"):
        TrainConfig.from_dict({"learning_rte": 0.1})


@pytest.mark.parametrize("name, module", [("resnet50v2", keras.applications.resnet_v2),
                                          ("resnet50", keras.applications.resnet50)])
def test_preprocessing_layer_equals_preprocess_input(name, module):
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    layer = preprocessing_layer(name, 32)
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(got, module.preprocess_input(x.copy()), rtol=1e-5, atol=1e-4)


def test_model_structure_and_unfreezing():
    cfg = TrainConfig(weights="random", input_size=32)
    model = build_model(cfg)
    names = [layer.name for layer in model.layers]
    assert names[:2] == ["pixels", "preprocess"]
    head = names[3:]
    assert head == ["head_bn", "head_gap", "head_dense_0", "head_dropout_0", "head_dense_1", "head_dropout_1",
                    "head_dense_2", "head_dropout_2", "head_dense_3", "head_dropout_3", "predictions"]
    assert [model.get_layer(f"head_dense_{i}").units for i in range(4)] == [512, 256, 128, 64]
    assert all(model.get_layer(f"head_dropout_{i}").rate == 0.1 for i in range(4))
    assert model.get_layer("predictions").units == 7
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 7)
    base = backbone_of(model)
    assert not base.trainable and isinstance(model.optimizer, keras.optimizers.Adamax)
    n_before = len(model.trainable_weights)
    trainable = unfreeze_top(model, 10, cfg)
    assert trainable == ["conv5_block3_2_conv", "conv5_block3_3_conv"]  # BatchNormalization stays frozen
    assert len(model.trainable_weights) == n_before + 3  # two kernels and one bias
    assert all(not layer.trainable for layer in base.layers[:-10] if layer.weights)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-5)
    with_bn = unfreeze_top(model, 10, unfreeze_batchnorm=True)
    assert "post_bn" in with_bn
