"""emoclass_train.metrics against scikit-learn (the rule train.py picks best.pt by)."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from emoclass_train.metrics import confusion, macro_f1, metrics

K = 6


def cases():
    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(rng.integers(1, 60))
        truth = rng.integers(0, K, n)
        if trial % 3 == 0:  # classes missing from the truth, some of them predicted
            truth = rng.choice([0, 2, 5], n)
        hit = rng.random(n) < rng.random()
        pred = np.where(hit, truth, rng.integers(0, K, n))
        if trial % 5 == 0:  # a collapsed model: one class predicted for everything
            pred = np.full(n, int(rng.integers(0, K)))
        yield truth, pred


def test_macro_f1_is_scikit_learns():
    checked_missing = 0
    for truth, pred in cases():
        want = f1_score(truth, pred, average="macro", zero_division=0)
        assert macro_f1(truth, pred, K) == pytest.approx(want, abs=1e-12), (truth.tolist(), pred.tolist())
        m = metrics(truth, pred, K)
        assert m["macro_f1"] == macro_f1(truth, pred, K)
        assert m["acc"] == pytest.approx(accuracy_score(truth, pred), abs=1e-15)
        assert m["confusion"] == confusion_matrix(truth, pred, labels=list(range(K))).tolist()
        checked_missing += len(set(pred) - set(truth)) > 0
    assert checked_missing > 20  # the cases where the old truth-only rule differed are covered


def test_a_class_only_predicted_counts_as_zero():
    # Truth has classes 0 and 1; the model also says 2 once. Truth-only averaging gave 0.8333;
    # scikit-learn and emoclass eval average over {0, 1, 2}.
    truth, pred = [0, 0, 1, 1], [0, 0, 1, 2]
    assert macro_f1(truth, pred, K) == pytest.approx((1.0 + 2 / 3 + 0.0) / 3, abs=1e-15)


def test_edges():
    assert macro_f1([], [], K) == 0.0
    assert metrics([], [], K) == {"acc": 0.0, "macro_f1": 0.0, "confusion": [[0] * K for _ in range(K)]}
    assert macro_f1([3, 3], [3, 3], K) == 1.0
    with pytest.raises(ValueError, match="labels must be 0..5"):
        confusion([0, 6], [0, 1], K)
    with pytest.raises(ValueError, match="labels must be 0..5"):
        confusion([0, -1], [0, 1], K)
    with pytest.raises(ValueError, match="2 true labels but 1 predictions"):
        confusion([0, 1], [0], K)


def test_teacher_features_scores_with_the_same_definition():
    import teacher_features
    assert teacher_features.macro_f1 is macro_f1
