"""Training-time augmentation of dB-index spectrogram images (see the comment below)."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from emoclass_train.formats import spectro_with_defaults

# ----------------------------------------------------------------------------------------------
# Augmentation, on the batch, in torch, in the dB-index domain
# ----------------------------------------------------------------------------------------------
# Pixel p in 0..255 stands for a level of (p / 255 - 1) * top_db dB relative to the image's own
# maximum (spectro-dump's ref = max); 0 is silence or anything below max - top_db. Row 0 is the
# highest mel band. Each image is renormalised to max 255 after level changes, as the real
# renderer would do, and padded silence (all-zero columns) stays silence.

def mel_of_hz(hz, scale):
    """librosa.hz_to_mel: slaney (linear to 1 kHz, then logarithmic) or htk."""
    if scale == "htk":
        return 2595.0 * math.log10(1.0 + hz / 700.0)
    if hz < 1000.0:
        return hz * 3.0 / 200.0
    return 15.0 + math.log(hz / 1000.0) / (math.log(6.4) / 27.0)


class Augmenter:
    def __init__(self, args, spectro, gen):
        self.a = args
        spectro = spectro_with_defaults(spectro)
        self.top_db = float(spectro["top_db"])
        self.px_per_db = 255.0 / self.top_db
        self.g = gen  # torch.Generator: every draw comes from it, so --seed reproduces the run
        hop = float(spectro["hop_length"])
        self.frame_s = hop / float(spectro["sample_rate"])
        # Frames overlap (window / hop): each sample's energy is in that many frames, so a tail
        # summed over past frames is scaled down by it to keep its energy what the ratio says.
        self.overlap = max(1.0, float(spectro["win_length"]) / hop)
        scale = spectro["mel_scale"]
        fmin = float(spectro["fmin"])
        fmax = float(spectro["fmax"])
        lo, hi = mel_of_hz(fmin, scale), mel_of_hz(fmax, scale)
        # Where a frequency sits on the image's vertical axis: 0 = lowest band, 1 = highest.
        self.axis_pos = lambda hz: min(max((mel_of_hz(hz, scale) - lo) / (hi - lo), 0.0), 1.0)

    def _u(self, n, lo, hi):
        return torch.rand(n, generator=self.g) * (hi - lo) + lo

    def _pick(self, n, p):
        return torch.rand(n, generator=self.g) < p

    def _chosen(self, x, p):
        """Indices of the batch images drawn (each with probability p) for one augmentation."""
        return self._pick(x.shape[0], p).nonzero().flatten()

    @staticmethod
    def _renorm(x, keep):
        """Shifts each image so that its maximum is 255 again (ref = max), clips, keeps masks."""
        peak = x.amax(dim=(1, 2, 3), keepdim=True)
        x = (x - peak + 255.0).clamp(0, 255)
        return x * keep

    def geometry(self, x):
        """One grid_sample for: time shift (whole frames; vacated frames are silence), time
        stretch (speaking rate), and a warp plus shift along the mel axis anchored at the lowest
        band (vocal-tract length / pitch differences between speakers)."""
        a = self.a
        B, _, H, W = x.shape
        shift = torch.round(self._u(B, -a.time_shift, a.time_shift) * W)
        stretch = torch.where(self._pick(B, 0.5), self._u(B, 1 - a.time_stretch, 1 + a.time_stretch), torch.ones(B))
        warp = self._u(B, 1 - a.freq_warp, 1 + a.freq_warp)
        fshift = self._u(B, -a.freq_shift, a.freq_shift)
        theta = torch.zeros(B, 2, 3)
        # Output (col c, row r) samples the input at c' = (c - centre) / stretch + centre - shift
        # and r' = (H-1) - ((H-1) - r) / warp + fshift, written in align_corners=True coordinates.
        theta[:, 0, 0] = 1.0 / stretch
        theta[:, 0, 2] = -2.0 * shift / max(W - 1, 1)
        theta[:, 1, 1] = 1.0 / warp
        theta[:, 1, 2] = 1.0 - 1.0 / warp + 2.0 * fshift / max(H - 1, 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=True)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

    def level(self, x, keep):
        """Microphone/channel colouring: a smooth random curve in dB across the mel rows (tilt +
        a few broad EQ bumps), sometimes a band limit at the top (narrow-band or lossy codecs),
        then a random level offset of the whole image (moves more or less of the quiet detail
        under the top_db floor, or saturates the peaks). Only the drawn images are touched."""
        a = self.a
        B, _, H, W = x.shape
        v = torch.linspace(1.0, 0.0, H).view(1, H)  # 0 at the lowest band, 1 at the highest
        curve = self._u(B, -a.tilt_db, a.tilt_db).view(B, 1) * (v - 0.5)
        for k in (1, 2, 3):
            amp = self._u(B, -a.eq_db, a.eq_db).view(B, 1) / k
            phase = self._u(B, 0, math.pi).view(B, 1)
            curve = curve + amp * torch.cos(math.pi * k * v + phase)
        band = self._pick(B, a.bandlimit_p).float().view(B, 1)
        cut = self._u(B, 0.7, 0.95).view(B, 1)
        curve = curve - band * 400.0 * (v - cut).clamp(min=0)  # -40 dB per 10 % of the axis
        eq_on = self._pick(B, a.eq_p)
        offset = self._u(B, -a.gain_db, a.gain_db * 0.5)
        gain_on = self._pick(B, a.gain_p)
        x = x.clone()
        sel = eq_on.nonzero().flatten()
        if len(sel):
            xs = x[sel]
            c = (curve[sel] * self.px_per_db).view(-1, 1, H, 1)
            x[sel] = self._renorm(xs + c * (xs > 0).float(), keep[sel])
        sel = gain_on.nonzero().flatten()
        if len(sel):
            xs = x[sel]
            o = (offset[sel] * self.px_per_db).view(-1, 1, 1, 1)
            x[sel] = (xs + o * (xs > 0).float()).clamp(0, 255)
        return x

    def telephone(self, x, keep):
        """A telephone channel: the bands above a 3.0-3.7 kHz cut fall to silence (steeply, as
        an 8 kHz codec's anti-alias filter does) and those below a 200-400 Hz cut lose ~25 dB."""
        H = x.shape[2]
        sel = self._chosen(x, self.a.telephone_p)
        n = len(sel)
        if n == 0:
            return x
        hi = [self.axis_pos(f) for f in self._u(n, 3000.0, 3700.0).tolist()]
        lo = [self.axis_pos(f) for f in self._u(n, 200.0, 400.0).tolist()]
        v = torch.linspace(1.0, 0.0, H).view(1, H)
        hi_t, lo_t = torch.tensor(hi).view(n, 1), torch.tensor(lo).view(n, 1)
        curve = -(v - hi_t).clamp(min=0) * 2000.0 - (lo_t - v).clamp(min=0) / lo_t.clamp(min=1e-3) * 25.0
        curve = curve.clamp(min=-self.top_db)
        xs = x[sel]
        x = x.clone()
        x[sel] = self._renorm(xs + (curve * self.px_per_db).view(n, 1, H, 1) * (xs > 0).float(), keep[sel])
        return x

    def reverb(self, x, keep):
        """A room: each band's power gets a tail, the power smeared forward in time by an
        exponential decay of RT60 0.2-0.8 s, at a direct-to-reverberant ratio of -2..+8 dB."""
        W = x.shape[3]
        sel = self._chosen(x, self.a.reverb_p)
        n = len(sel)
        if n == 0:
            return x
        rt60 = self._u(n, 0.2, 0.8).view(n, 1)
        drr_db = self._u(n, -2.0, 8.0).view(n, 1)
        frames = max(2, min(W, int(round(0.8 / self.frame_s))))  # the longest tail drawn
        t = torch.arange(1, frames + 1, dtype=torch.float32).view(1, frames) * self.frame_s
        k = torch.exp(-6.9078 * t / rt60)  # (n, frames): -60 dB at each image's rt60
        k = k * (10.0 ** (-drr_db / 10.0) / (k.sum(1, keepdim=True) * self.overlap))
        xs = x[sel, 0]  # (n, H, W)
        db = xs / self.px_per_db - self.top_db  # relative to the peak
        power = torch.where(xs > 0, torch.pow(10.0, db / 10.0), torch.zeros_like(db))
        # Causal smear, one kernel per image (groups): tail[t] = sum_j k[j] * power[t - 1 - j].
        padded = F.pad(power.permute(1, 0, 2), (frames, 0))  # (H, n, W + frames)
        tail = F.conv1d(padded, k.flip(1).unsqueeze(1), groups=n)[:, :, :W].permute(1, 0, 2)
        out = (10.0 * torch.log10((power + tail).clamp(min=1e-12)) + self.top_db) * self.px_per_db
        x = x.clone()
        x[sel] = self._renorm(out.unsqueeze(1), keep[sel])
        return x

    def noise(self, x, keep):
        """A light additive noise floor: coloured noise power-summed with the signal in dB,
        a random --noise-min-db .. --noise-max-db below the image's peak."""
        a = self.a
        H, W = x.shape[2:]
        sel = self._chosen(x, a.noise_p)
        n = len(sel)
        if n == 0:
            return x
        below = self._u(n, a.noise_min_db, a.noise_max_db).view(n, 1, 1, 1)
        tilt = self._u(n, -6, 6).view(n, 1, 1, 1) * torch.linspace(0.5, -0.5, H).view(1, 1, H, 1)
        jitter = torch.randn((n, 1, H, W), generator=self.g) * 5.6  # dB spread of a noise periodogram
        noise_db = jitter + tilt - below  # relative to the peak (0 dB)
        sig_db = x[sel] / self.px_per_db - self.top_db  # relative to the peak
        to_nat = math.log(10) / 10
        mixed = torch.logaddexp(sig_db * to_nat, noise_db * to_nat) / to_nat
        x = x.clone()
        x[sel] = self._renorm((mixed + self.top_db) * self.px_per_db, keep[sel])
        return x

    def masks(self, x):
        """SpecAugment: time and frequency bands set to silence."""
        a = self.a
        B, _, H, W = x.shape
        cols = torch.arange(W).view(1, W)
        rows = torch.arange(H).view(1, H)
        keep_t = torch.ones(B, W)
        keep_f = torch.ones(B, H)
        for _ in range(a.time_masks):
            w = (self._u(B, 0, a.time_mask * W)).long().view(B, 1)
            s = (torch.rand(B, 1, generator=self.g) * (W - w + 1)).long()
            keep_t = keep_t * ~((cols >= s) & (cols < s + w))
        for _ in range(a.freq_masks):
            w = (self._u(B, 0, a.freq_mask * H)).long().view(B, 1)
            s = (torch.rand(B, 1, generator=self.g) * (H - w + 1)).long()
            keep_f = keep_f * ~((rows >= s) & (rows < s + w))
        return x * keep_t.view(B, 1, 1, W) * keep_f.view(B, 1, H, 1)

    def mixup(self, x, y):
        """Mixup of images and soft labels; the first image keeps the larger share."""
        a = self.a
        B = x.shape[0]
        if a.mixup_p <= 0 or torch.rand(1, generator=self.g).item() >= a.mixup_p:
            return x, y
        # torch's Beta sampler takes no generator: draw with numpy, seeded from ours.
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.g).item())
        lam = np.random.default_rng(seed).beta(a.mixup_alpha, a.mixup_alpha, size=B).astype(np.float32)
        lam = torch.from_numpy(np.maximum(lam, 1 - lam))
        perm = torch.randperm(B, generator=self.g)
        lx = lam.view(B, 1, 1, 1)
        return x * lx + x[perm] * (1 - lx), y * lam.view(B, 1) + y[perm] * (1 - lam.view(B, 1))

    def __call__(self, x, y):
        x = self.geometry(x)
        # Columns that are silent after the time shift/stretch (padding) must stay silent.
        keep = (x.amax(dim=2, keepdim=True) > 0).float()
        # Off by default, and then no draws are made, so older recipes' runs stay bit-identical.
        if self.a.reverb_p > 0:
            x = self.reverb(x, keep)
        x = self.level(x, keep)
        if self.a.telephone_p > 0:
            x = self.telephone(x, keep)
        x = self.noise(x, keep)
        x, y = self.mixup(x, y)
        x = self.masks(x)
        return x, y
