"""A stored dataset PNG as the network's input, the way model.json's input recipe says; needs only
numpy and OpenCV (no torch), so the exporter and the int8 quantiser share it."""
import cv2
import numpy as np

from . import Error


def stored_image_to_input(path, channels):
    """A dataset PNG as the model input recipe says: RGB (or gray) pixels * 1/255, NCHW (1, C, H, W)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise Error(f"{path}: cannot be read")
    if img.ndim == 2:
        planes = img[None] if channels == 1 else np.repeat(img[None], 3, 0)
    else:
        planes = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB).transpose(2, 0, 1)
    return (planes.astype(np.float32) * np.float32(1.0 / 255.0))[None]
