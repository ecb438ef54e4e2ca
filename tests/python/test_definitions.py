"""The training scripts against the C++ definitions the package exposes (one meaning each)."""
import sys

import numpy as np
import pytest

import emoclass
from conftest import SOURCE_DIR

LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad"]


@pytest.fixture(scope="module")
def train():
    sys.path.insert(0, str(SOURCE_DIR / "scripts"))
    import emoclass_train.metrics  # what scripts/train.py scores with
    return emoclass_train.metrics


def test_train_metrics_equal_emoclass_eval(train):
    rng = np.random.default_rng(7)
    for trial in range(20):
        truth = rng.integers(0, len(LABELS), 300)
        if trial % 2:  # every class present, as in every val split
            truth[: len(LABELS)] = np.arange(len(LABELS))
        else:  # classes missing from the truth, some of them predicted: the same rule either way
            truth = rng.choice([0, 3, 4], 300)
        predicted = np.where(rng.random(300) < 0.6, truth, rng.integers(0, len(LABELS), 300))
        ours = train.metrics(truth, predicted, len(LABELS))
        report = emoclass.evaluate(LABELS, truth.tolist(), predicted.tolist())
        assert ours["acc"] == report["accuracy"]
        assert ours["macro_f1"] == report["macro_f1"]  # the same doubles, not just close
        assert ours["confusion"] == report["confusion"]


def test_evaluate_takes_names_and_no_speech():
    report = emoclass.evaluate(LABELS, ["sad", "sad", "happy", "angry"], ["sad", None, "happy", "happy"])
    assert (report["files"], report["correct"], report["no_speech"]) == (4, 2, 1)
    assert report["per_class"]["sad"]["recall"] == 0.5 and report["confusion_no_speech"][LABELS.index("sad")] == 1
    with pytest.raises(emoclass.Error, match="eval: unknown label 'calm'"):
        emoclass.evaluate(LABELS, ["calm"], ["sad"])


def test_default_settings_are_the_shipped_models(model):
    # spectro/settings.hpp's defaults are what the shipped model was trained on.
    assert emoclass.default_settings() == model.settings
