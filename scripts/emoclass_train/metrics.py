"""Accuracy, macro-F1 and the confusion matrix: one definition for every script.

Macro-F1 follows scikit-learn's f1_score(average="macro") and classify/metrics.cpp (`emoclass
eval`): the mean F1 over the classes present in the truth or the predictions; a class that is
in neither does not count. Each class's F1 is computed from its precision and recall as
classify/metrics.cpp does, so both give the same doubles (scikit-learn's 2 tp / (2 tp + fp + fn)
can differ from it in the last bit).
This module needs numpy only (scripts/teacher_features.py imports it from .venv-teacher).
"""
import numpy as np


def confusion(y_true, y_pred, n_classes):
    """(n_classes, n_classes) counts, rows true, columns predicted; labels are 0..n_classes-1."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    for name, y in (("true", y_true), ("predicted", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"{name} labels must be 0..{n_classes - 1}")
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def macro_f1_of_confusion(cm):
    """Mean F1 over the classes present in the truth or the predictions (0.0 when none is)."""
    cm = np.asarray(cm, np.int64)
    tp = np.diag(cm)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    present = (tp + fp + fn) > 0
    if not present.any():
        return 0.0
    tp, predicted, true = tp[present], (tp + fp)[present], (tp + fn)[present]
    precision = tp / np.maximum(predicted, 1)
    recall = tp / np.maximum(true, 1)
    f1 = np.where(tp > 0, 2 * precision * recall / np.where(tp > 0, precision + recall, 1.0), 0.0)
    return float(np.mean(f1))


def macro_f1(y_true, y_pred, n_classes):
    """Macro-F1 of label indices (see the module docstring)."""
    return macro_f1_of_confusion(confusion(y_true, y_pred, n_classes))


def metrics(y_true, y_pred, n_classes):
    """Accuracy, macro-F1 (classes present in truth or predictions), confusion matrix."""
    cm = confusion(y_true, y_pred, n_classes)
    acc = float(np.trace(cm) / max(cm.sum(), 1))
    return {"acc": acc, "macro_f1": macro_f1_of_confusion(cm), "confusion": cm.tolist()}
