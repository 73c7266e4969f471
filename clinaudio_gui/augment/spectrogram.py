"""Spectrogram-domain transforms on 2-D float arrays shaped (freq, time), row 0 = lowest
frequency. These are the "traditional" image augmentations of the spectral-image
environmental-sound study (Keras ImageDataGenerator style: zoom, width / height shift,
rotation, shear, brightness, horizontal flip, with fill modes) plus SpecAugment masks.

Sizes are drawn as fractions of the image, so ``randomize`` needs no image and a recorded
draw applies to any spectrogram. Geometric transforms resample once, bilinearly, through
``scipy.ndimage.affine_transform``; ``SpecAffine`` combines them in one matrix (as Keras
does), so a full ``taa`` draw interpolates the image only once.

Label segments are not moved by these transforms (their time axis is pixels, not seconds).
"""
from __future__ import annotations

import math

import numpy as np

from clinaudio_gui.augment.base import SPECTROGRAM, Param, Transform, as_float32, register, uniform

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
#: our fill-mode names -> scipy.ndimage modes. "constant" fills with the image minimum
#: (the floor of a dB spectrogram: silence), "wrap" is the true periodic wrap.
_SCIPY_MODE = {"nearest": "nearest", "constant": "constant", "reflect": "reflect", "wrap": "grid-wrap"}


def _as_image(x):
    return as_float32(x, name="spectrogram", ndim=2)


def affine_matrix(*, zoom_freq: float = 1.0, zoom_time: float = 1.0, rotation_deg: float = 0.0,
                  shear: float = 0.0) -> np.ndarray:
    """Forward 2x2 map in (row=freq, col=time) pixel coordinates about the image centre."""
    z = np.diag([zoom_freq, zoom_time])
    sh = np.array([[1.0, 0.0], [shear, 1.0]])
    t = math.radians(rotation_deg)
    r = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return r @ sh @ z


def warp(img: np.ndarray, forward: np.ndarray, shift_px: tuple[float, float], fill_mode: str) -> np.ndarray:
    """Resample ``img`` so that content at p moves to forward @ (p - c) + c + shift."""
    from scipy.ndimage import affine_transform
    c = (np.array(img.shape, dtype=np.float64) - 1.0) / 2.0
    inv = np.linalg.inv(forward)
    offset = c - inv @ (c + np.asarray(shift_px, dtype=np.float64))
    cval = float(img.min())
    return affine_transform(img, inv, offset=offset, order=1, mode=_SCIPY_MODE[fill_mode],
                            cval=cval, prefilter=False).astype(np.float32, copy=False)


_FILL = Param("fill_mode", "", "nearest", "how pixels from outside the image are filled", kind="choice",
              choices=FILL_MODES)


class _Geometric(Transform):
    domain = SPECTROGRAM

    def _forward(self, params) -> tuple[np.ndarray, tuple[float, float], str]:
        raise NotImplementedError

    def apply(self, x, sample_rate_hz, params):
        img = _as_image(x)
        fwd, frac_shift, mode = self._forward(params)
        shift_px = (frac_shift[0] * img.shape[0], frac_shift[1] * img.shape[1])
        return warp(img, fwd, shift_px, mode)


@register
class SpecAffine(_Geometric):
    """Zoom, width (time) and height (frequency) shift, rotation and shear drawn together
    and applied as one affine resampling (Keras ImageDataGenerator semantics, except shear
    is a shear factor, not degrees). Zoom factors are drawn independently per axis in
    [1 - max_zoom_fraction, 1 + max_zoom_fraction]; > 1 magnifies."""

    name = "SpecAffine"
    summary = "zoom + shifts + rotation + shear in one resampling"
    PARAMS = (
        Param("max_zoom_fraction", "fraction", 0.25, "zoom factors in [1-z, 1+z]", low=0.0, high=0.95),
        Param("max_width_shift_fraction", "fraction of width", 0.2, "time shift", low=0.0, high=1.0),
        Param("max_height_shift_fraction", "fraction of height", 0.2, "frequency shift", low=0.0, high=1.0),
        Param("max_rotation_deg", "degrees", 30.0, "rotation in [-r, r]", low=0.0, high=180.0),
        Param("max_shear", "shear factor", 0.3, "shear in [-s, s] (time offset per frequency row)",
              low=0.0, high=5.0),
        _FILL,
    )

    def _randomize(self, rng, context):
        z = self.max_zoom_fraction
        return {"zoom_freq": uniform(rng, 1 - z, 1 + z), "zoom_time": uniform(rng, 1 - z, 1 + z),
                "width_shift_fraction": uniform(rng, -self.max_width_shift_fraction, self.max_width_shift_fraction),
                "height_shift_fraction": uniform(rng, -self.max_height_shift_fraction,
                                                 self.max_height_shift_fraction),
                "rotation_deg": uniform(rng, -self.max_rotation_deg, self.max_rotation_deg),
                "shear": uniform(rng, -self.max_shear, self.max_shear)}

    def _forward(self, p):
        fwd = affine_matrix(zoom_freq=p["zoom_freq"], zoom_time=p["zoom_time"],
                            rotation_deg=p["rotation_deg"], shear=p["shear"])
        return fwd, (p["height_shift_fraction"], p["width_shift_fraction"]), self.fill_mode


@register
class SpecZoom(_Geometric):
    """Zoom both axes by factors drawn in [1 - max_zoom_fraction, 1 + max_zoom_fraction]."""

    name = "SpecZoom"
    summary = "zoom in/out"
    PARAMS = (Param("max_zoom_fraction", "fraction", 0.25, "zoom factors in [1-z, 1+z]", low=0.0, high=0.95),
              _FILL)
    slider_param = "zoom_time"

    def _randomize(self, rng, context):
        z = self.max_zoom_fraction
        return {"zoom_freq": uniform(rng, 1 - z, 1 + z), "zoom_time": uniform(rng, 1 - z, 1 + z)}

    def slider_range(self):
        return 1 - self.max_zoom_fraction, 1 + self.max_zoom_fraction

    def _forward(self, p):
        return affine_matrix(zoom_freq=p["zoom_freq"], zoom_time=p["zoom_time"]), (0.0, 0.0), self.fill_mode


@register
class WidthShift(_Geometric):
    """Shift along time by up to ``max_shift_fraction`` of the width."""

    name = "WidthShift"
    summary = "shift along time (image width)"
    PARAMS = (Param("max_shift_fraction", "fraction of width", 0.2, "shift in [-f, f]", low=0.0, high=1.0),
              _FILL)
    slider_param = "shift_fraction"

    def _randomize(self, rng, context):
        return {"shift_fraction": uniform(rng, -self.max_shift_fraction, self.max_shift_fraction)}

    def slider_range(self):
        return -self.max_shift_fraction, self.max_shift_fraction

    def _forward(self, p):
        return np.eye(2), (0.0, p["shift_fraction"]), self.fill_mode


@register
class HeightShift(WidthShift):
    """Shift along frequency by up to ``max_shift_fraction`` of the height (positive: up)."""

    name = "HeightShift"
    summary = "shift along frequency (image height)"
    PARAMS = (Param("max_shift_fraction", "fraction of height", 0.2, "shift in [-f, f]", low=0.0, high=1.0),
              _FILL)

    def _forward(self, p):
        return np.eye(2), (p["shift_fraction"], 0.0), self.fill_mode


@register
class Rotation(_Geometric):
    """Rotate about the centre by up to ``max_rotation_deg`` either way."""

    name = "Rotation"
    summary = "rotate"
    PARAMS = (Param("max_rotation_deg", "degrees", 30.0, "rotation in [-r, r]", low=0.0, high=180.0), _FILL)
    slider_param = "rotation_deg"

    def _randomize(self, rng, context):
        return {"rotation_deg": uniform(rng, -self.max_rotation_deg, self.max_rotation_deg)}

    def slider_range(self):
        return -self.max_rotation_deg, self.max_rotation_deg

    def _forward(self, p):
        return affine_matrix(rotation_deg=p["rotation_deg"]), (0.0, 0.0), self.fill_mode


@register
class Shear(_Geometric):
    """Shear: each frequency row moves in time by shear x (row - centre)."""

    name = "Shear"
    summary = "shear"
    PARAMS = (Param("max_shear", "shear factor", 0.3, "shear in [-s, s]", low=0.0, high=5.0), _FILL)
    slider_param = "shear"

    def _randomize(self, rng, context):
        return {"shear": uniform(rng, -self.max_shear, self.max_shear)}

    def slider_range(self):
        return -self.max_shear, self.max_shear

    def _forward(self, p):
        return affine_matrix(shear=p["shear"]), (0.0, 0.0), self.fill_mode


@register
class Brightness(Transform):
    """Scale the image's values above its minimum by a factor (Keras brightness_range on an
    image whose black is the minimum): for dB spectrograms, factor 1.5 widens the dynamic
    range above the floor by 50 %."""

    name = "Brightness"
    domain = SPECTROGRAM
    summary = "brightness factor"
    PARAMS = (Param("min_factor", "x", 0.5, "lowest factor", low=0.0, high=10.0),
              Param("max_factor", "x", 1.5, "highest factor", low=0.0, high=10.0))
    slider_param = "factor"
    RANGES = ("factor",)

    def _randomize(self, rng, context):
        return {"factor": self._draw(rng, "factor")}

    def slider_range(self):
        return self.min_factor, self.max_factor

    def apply(self, x, sample_rate_hz, params):
        img = _as_image(x)
        lo = img.min()
        return (lo + np.float32(params["factor"]) * (img - lo)).astype(np.float32)


@register
class HorizontalFlip(Transform):
    """Reverse the time axis (use with p=0.5)."""

    name = "HorizontalFlip"
    domain = SPECTROGRAM
    summary = "flip time axis"

    def apply(self, x, sample_rate_hz, params):
        return np.ascontiguousarray(_as_image(x)[:, ::-1])


class _Mask(Transform):
    domain = SPECTROGRAM
    axis = 1
    PARAMS = (
        Param("max_width_fraction", "fraction of axis", 0.1, "widest mask", low=0.0, high=1.0),
        Param("n_masks", "count", 2, "number of masks", kind="int", low=0, high=100),
        Param("fill", "", "mean", "mask value", kind="choice", choices=("mean", "min", "zero")),
    )
    slider_param = "width_scale"

    def _randomize(self, rng, context):
        widths = rng.uniform(0.0, self.max_width_fraction, size=self.n_masks)
        starts = rng.uniform(0.0, 1.0, size=self.n_masks) * (1.0 - widths)
        return {"masks": [[float(s), float(w)] for s, w in zip(starts, widths)], "width_scale": 1.0}

    def slider_range(self):
        return 0.0, 2.0

    def apply(self, x, sample_rate_hz, params):
        img = _as_image(x).copy()
        n = img.shape[self.axis]
        value = {"mean": float(img.mean()), "min": float(img.min()), "zero": 0.0}[self.fill]
        scale = float(params.get("width_scale", 1.0))
        for start_f, width_f in params["masks"]:
            a = int(math.floor(start_f * n))
            b = min(n, a + int(round(width_f * scale * n)))
            if self.axis == 1:
                img[:, a:b] = value
            else:
                img[a:b, :] = value
        return img


@register
class TimeMask(_Mask):
    """SpecAugment time masks: ``n_masks`` bands of up to ``max_width_fraction`` of the frames."""

    name = "TimeMask"
    summary = "SpecAugment time masks"
    axis = 1


@register
class FreqMask(_Mask):
    """SpecAugment frequency masks: ``n_masks`` bands of up to ``max_width_fraction`` of the bins."""

    name = "FreqMask"
    summary = "SpecAugment frequency masks"
    axis = 0


SPECTROGRAM_TRANSFORMS = ("SpecAffine", "SpecZoom", "WidthShift", "HeightShift", "Rotation", "Shear",
                          "Brightness", "HorizontalFlip", "TimeMask", "FreqMask")
