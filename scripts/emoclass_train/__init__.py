"""The training pipeline's code, shared by the command-line scripts beside this folder.

    formats   the file formats: spectro.json (the settings' defaults), model.json, manifest.csv
    dataset   spectro-dump dataset folders: PNG decoding, colormap inversion, teacher probabilities
              and features
    augment   augmentation of dB-index images on the batch
    model     the YOLOv8-cls network, its input, checkpoints
    model_input  a stored dataset PNG as the network input (numpy and OpenCV, no torch)
    training  EMA, corpus adversary, feature matching, learning-rate schedule, optimiser,
              evaluation of a split
    metrics   accuracy, macro-F1 (scikit-learn's rule), confusion matrix

The scripts in scripts/ import it by name (Python puts a script's folder first on sys.path);
elsewhere set PYTHONPATH=scripts. This file imports nothing, so metrics and bundle load without
torch or OpenCV.
"""


class Error(Exception):
    """A bad input, as one line "FILE: reason"; the scripts print it after their own name."""
