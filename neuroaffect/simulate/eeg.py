"""Synthetic EEG with affect effects of known size.

The generator works in the frequency domain. For each trial, independent complex Gaussian spectra
(one per electrode) are mixed with the square root of a spatial covariance ``exp(-distance /
length_scale)`` (so neighbouring electrodes correlate, like volume conduction), then shaped per
electrode by a power spectral density made of

- an aperiodic ``1 / (1 + f**chi)`` background (subject-specific exponent ``chi``),
- an alpha peak at a subject-specific frequency (9-11.5 Hz), strongest over posterior sites,
- a small beta bump near 20 Hz,

multiplied by per-band gains (in dB) that carry the affect effects (:class:`EffectSizes`), a
subject-specific per-electrode gain and a per-trial random "stimulus fingerprint". Slow drifts
(< 0.3 Hz, independent per electrode) and blinks (frontal sites, weighted by distance to the eyes)
are added, and for the ``"deap"`` flavour the authors' preprocessing is imitated (4-45 Hz
zero-phase band-pass, common average reference).

Because the band gains multiply the whole spectrum inside each band, an effect of ``x`` dB raises
the expected band power of the affected electrodes by exactly ``x`` dB, which tests can check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import trapezoid

from ..channels import ch_positions

#: Frequency bands (Hz) the gains act on, with 1 Hz raised-cosine edges.
BANDS = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}
#: Sites whose alpha power carries the valence effect (frontal alpha asymmetry).
LEFT_FRONTAL = ("Fp1", "AF3", "F3")
RIGHT_FRONTAL = ("Fp2", "AF4", "F4")


@dataclass(frozen=True)
class EffectSizes:
    """Sizes of the simulated affect effects.

    Ratings are first mapped onto [-1, 1] by their scale (:meth:`RatingScale.normalize`; for the
    categorical SEED / SEED-IV labels, by the proxies in ``neuroaffect.simulate.datasets``). Each
    effect is the change of expected band power, in dB, per unit of that normalised rating, set on
    the reference-free signal. Bands have 1 Hz raised-cosine edges, so measure inside them (e.g.
    alpha 8.5-12.5 Hz) to see the full effect. DEAP's common average reference dilutes the
    effects slightly (``benchmarks/simulate_effects.py`` recovers about 0.9 of the frontal alpha
    asymmetry and all of the arousal effects).

    Parameters
    ----------
    valence_asymmetry_db : float
        Frontal alpha asymmetry: right (Fp2, AF4, F4) minus left (Fp1, AF3, F3) alpha (8-13 Hz)
        power in dB, per unit valence (right sites get +half, left sites -half). Positive: more
        left-hemisphere activity (less left alpha) with pleasant stimuli. Default 1.0 dB.
    arousal_alpha_db : float
        Change of posterior (P*, PO*, O*, CB*, I*) alpha power per unit arousal. Default -1.0 dB
        (alpha desynchronises with arousal).
    arousal_beta_db, arousal_gamma_db : float
        Change of beta (13-30 Hz) and gamma (30-45 Hz) power on every electrode per unit arousal.
        Default 0.5 dB each.
    dominance_beta_db : float
        Change of frontal (AF*, F*, FC*; not Fp*, FT*) beta power per unit dominance. Default 0.3 dB (weaker).
    fingerprint_db : float
        Standard deviation (dB) of the per-trial, label-independent band gains: each trial draws
        new gains for all five bands on a random subset of electrodes, constant over the trial.
        Default 1.5 dB. This is what makes windows of one trial resemble each other more than
        windows of other trials with the same label.
    fingerprint_fraction : float
        Fraction of electrodes carrying the fingerprint in each trial. Default 0.25.
    """

    valence_asymmetry_db: float = 1.0
    arousal_alpha_db: float = -1.0
    arousal_beta_db: float = 0.5
    arousal_gamma_db: float = 0.5
    dominance_beta_db: float = 0.3
    fingerprint_db: float = 1.5
    fingerprint_fraction: float = 0.25

    @classmethod
    def realistic(cls) -> EffectSizes:
        """Effects like real studies': half the default affect effects and a stronger trial fingerprint.

        Used by :data:`neuroaffect.simulate.REALISTIC` studies: a leakage-free decoder finds a
        modest effect, and windows of one trial resemble each other far more than trials of one class.
        """
        return cls(valence_asymmetry_db=0.5, arousal_alpha_db=-0.5, arousal_beta_db=0.25, arousal_gamma_db=0.25,
                   dominance_beta_db=0.15, fingerprint_db=2.5, fingerprint_fraction=0.5)

    @classmethod
    def none(cls) -> EffectSizes:
        """No affect effect and no trial fingerprint (a null model)."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Flavour:
    """Recording / preprocessing style of a dataset (what the authors did to the signal).

    ``passband`` (Hz): zero-phase band-pass applied last (``None``: raw); ``car``: common average
    reference; ``blink_uv``: mean blink amplitude at Fp1/Fp2 in µV; ``drift_uv``: RMS of the slow
    drift in µV; ``dc_offset_uv``: mean DC offset (Emotiv headsets record around 4200 µV);
    ``rms_uv``: RMS of the background EEG (1-45 Hz) in µV.
    """

    passband: tuple[float, float] | None = None
    car: bool = False
    blink_uv: float = 100.0
    drift_uv: float = 10.0
    dc_offset_uv: float = 0.0
    rms_uv: float = 15.0


FLAVOURS = {
    # Authors' preprocessing: downsampled, EOG removed (residual blinks), 4-45 Hz, common average.
    "deap": Flavour(passband=(4.0, 45.0), car=True, blink_uv=20.0),
    # Preprocessed_EEG: downsampled to 200 Hz and low-passed at 75 Hz.
    "seed": Flavour(passband=(0.0, 75.0)),
    "seed_iv": Flavour(),
    "dreamer": Flavour(dc_offset_uv=4200.0),
}


def _band_taper(freqs: np.ndarray, low: float, high: float, edge: float = 1.0) -> np.ndarray:
    """1 inside [low, high], 0 outside, raised-cosine edges of ``edge`` Hz centred on the limits."""

    def ramp(x):  # 0 -> 1 as x goes from -edge/2 to +edge/2
        return 0.5 - 0.5 * np.cos(np.pi * np.clip(x / edge + 0.5, 0.0, 1.0))

    up = np.ones_like(freqs) if low <= 0 else ramp(freqs - low)
    return up * ramp(high - freqs)


class SubjectModel:
    """One simulated subject: montage, spatial mixing and spectral parameters.

    Parameters
    ----------
    ch_names : sequence of str
        Standard electrode names.
    sfreq : float
        Sampling rate in Hz.
    rng : numpy.random.Generator
        Draws the subject's parameters (alpha peak, aperiodic exponent, electrode gains, ...).
    flavour : Flavour
    length_scale : float
        Spatial correlation length in metres.
    gain_sd_db : float
        Standard deviation (dB) of the subject's per-electrode gains: the between-subject offsets
        of the band powers (impedance, skull thickness).
    """

    def __init__(
        self,
        ch_names,
        sfreq: float,
        rng: np.random.Generator,
        flavour: Flavour,
        length_scale: float = 0.04,
        gain_sd_db: float = 1.0,
    ):
        self.ch_names = list(ch_names)
        self.sfreq = float(sfreq)
        self.flavour = flavour
        pos = ch_positions(self.ch_names)
        dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        w, v = np.linalg.eigh(np.exp(-dist / length_scale))
        self.mixing = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        self.alpha_freq = rng.uniform(9.0, 11.5)
        self.alpha_width = rng.uniform(0.8, 1.3)
        self.alpha_ratio = rng.uniform(2.0, 6.0)  # posterior alpha peak / background at the peak
        self.chi = rng.uniform(1.2, 2.0)
        self.gain_db = rng.normal(0.0, gain_sd_db, len(self.ch_names))
        y = pos[:, 1]  # anterior (+) / posterior (-)
        self.alpha_weight = 0.2 + 0.8 / (1.0 + np.exp(y / 0.02))
        offset_jitter = rng.normal(
            0.0, 50.0, len(self.ch_names)
        )  # drawn always: same stream for all flavours
        self.dc_offset = (
            flavour.dc_offset_uv + offset_jitter
            if flavour.dc_offset_uv
            else np.zeros(len(self.ch_names))
        )
        eye = ch_positions(["Fpz"])[0] + np.array([0.0, 0.02, -0.03])
        d_eye = np.linalg.norm(pos - eye, axis=1)
        d_fp1 = np.linalg.norm(ch_positions(["Fp1"])[0] - eye)
        self.blink_weight = np.minimum(1.0, np.exp(-(d_eye - d_fp1) / 0.04))
        self._grids = {}
        names = self.ch_names
        self.left = np.isin(names, LEFT_FRONTAL)
        self.right = np.isin(names, RIGHT_FRONTAL)
        self.posterior = np.array([n.startswith(("P", "O", "CB", "I")) for n in names])
        self.frontal = np.array(
            [n.startswith(("AF", "F")) and not n.startswith(("Fp", "FT")) for n in names]
        )

    def psd(self, freqs: np.ndarray) -> np.ndarray:
        """Baseline power spectral density (µV²/Hz), shape (n_channels, n_freqs), before gains."""
        background = 1.0 / (1.0 + freqs**self.chi)
        alpha_shape = np.exp(-0.5 * ((freqs - self.alpha_freq) / self.alpha_width) ** 2)
        beta_shape = np.exp(-0.5 * ((freqs - 20.0) / 3.0) ** 2)
        bg_at_alpha = 1.0 / (1.0 + self.alpha_freq**self.chi)
        bg_at_beta = 1.0 / (1.0 + 20.0**self.chi)
        psd = (
            background[None]
            + self.alpha_ratio * bg_at_alpha * self.alpha_weight[:, None] * alpha_shape[None]
            + 0.5 * bg_at_beta * beta_shape[None]
        )
        # Scale so the aperiodic background holds rms_uv² in 1-45 Hz (independent of n_times).
        grid = np.linspace(1.0, 45.0, 4401)
        power = trapezoid(1.0 / (1.0 + grid**self.chi), grid)
        return psd * (self.flavour.rms_uv**2 / power)

    def band_gains(
        self, affect, effects: EffectSizes, rng: np.random.Generator | None
    ) -> np.ndarray:
        """Per-electrode band gains in dB, shape (n_channels, n_bands) (bands of :data:`BANDS`).

        ``affect``: normalised (valence, arousal, dominance) in [-1, 1]; ``rng`` draws the trial's
        fingerprint (``None``: no fingerprint, e.g. for baselines).
        """
        valence, arousal, dominance = affect
        gains = np.zeros((len(self.ch_names), len(BANDS)))
        alpha, beta, gamma = 2, 3, 4
        gains[self.right, alpha] += 0.5 * effects.valence_asymmetry_db * valence
        gains[self.left, alpha] -= 0.5 * effects.valence_asymmetry_db * valence
        gains[self.posterior, alpha] += effects.arousal_alpha_db * arousal
        gains[:, beta] += effects.arousal_beta_db * arousal
        gains[:, gamma] += effects.arousal_gamma_db * arousal
        gains[self.frontal, beta] += effects.dominance_beta_db * dominance
        if rng is not None:
            carriers = rng.random(len(self.ch_names)) < effects.fingerprint_fraction
            gains += carriers[:, None] * rng.normal(0.0, effects.fingerprint_db, gains.shape)
        return gains

    def segment(
        self,
        rng,
        n_times: int,
        affect=(0.0, 0.0, 0.0),
        effects: EffectSizes | None = None,
        *,
        fingerprint=True,
    ) -> np.ndarray:
        """One continuous segment in µV, shape (n_channels, n_times), float64.

        ``affect`` (valence, arousal, dominance) in [-1, 1]; ``fingerprint=False`` for resting
        baselines (no stimulus, hence no fingerprint; pass ``affect=(0, 0, 0)`` too).
        """
        effects = EffectSizes() if effects is None else effects
        n_ch = len(self.ch_names)
        freqs, base_amplitude, tapers = self._spectral_grid(n_times)
        gains_db = self.band_gains(affect, effects, rng if fingerprint else None)
        amplitude = base_amplitude * 10.0 ** ((gains_db @ tapers) / 20.0)
        real, imag = rng.standard_normal((2, n_ch, freqs.size))
        spectrum = (
            self.mixing @ real + 1j * (self.mixing @ imag)
        ) * amplitude  # real matmuls: fast BLAS
        spectrum += self._drift_spectrum(rng, freqs, n_times) + self._blink_spectrum(rng, n_times)
        if self.flavour.passband is not None:
            spectrum *= _band_taper(freqs, *self.flavour.passband)
        x = np.fft.irfft(spectrum, n=n_times)
        if self.flavour.car:
            x -= x.mean(axis=0, keepdims=True)
        return x + self.dc_offset[:, None]

    def _spectral_grid(self, n_times):
        """rFFT frequencies, per-electrode spectral amplitude (no affect gains), band tapers."""
        if n_times not in self._grids:
            freqs = np.fft.rfftfreq(n_times, 1.0 / self.sfreq)
            # E|X_k|^2 = 2 * c * P_k gives a one-sided PSD P when c = sfreq * n_times / 4.
            amplitude = np.sqrt(self.psd(freqs) * self.sfreq * n_times / 4.0) * 10.0 ** (
                self.gain_db[:, None] / 20.0
            )
            amplitude[:, 0] = 0.0
            tapers = np.stack([_band_taper(freqs, lo, hi) for lo, hi in BANDS.values()])
            self._grids = {n_times: (freqs, amplitude, tapers)}  # keep one: trial lengths repeat
        return self._grids[n_times]

    def _drift_spectrum(self, rng, freqs, n_times):
        """Independent slow drifts below 0.3 Hz (RMS ``flavour.drift_uv`` per electrode), as rFFT."""
        slow = np.flatnonzero((freqs > 0) & (freqs < 0.3))
        out = np.zeros((len(self.ch_names), freqs.size), dtype=complex)
        if slow.size and self.flavour.drift_uv > 0:
            # var(x) = 2 * sum |X_k|^2 / n^2 over one-sided bins: |X_k| ~ drift * n / sqrt(2 * 2 * n_slow)
            scale = self.flavour.drift_uv * n_times / np.sqrt(4.0 * slow.size)
            out[:, slow] = scale * (
                rng.standard_normal((len(self.ch_names), slow.size))
                + 1j * rng.standard_normal((len(self.ch_names), slow.size))
            )
        return out

    def _blink_spectrum(self, rng, n_times):
        """Blinks (frontal, scaled by distance to the eyes) as rFFT, shape (n_channels, n_freqs)."""
        trace = blink_trace(rng, n_times, self.sfreq, self.flavour.blink_uv)
        return self.blink_weight[:, None] * np.fft.rfft(trace)[None]


def blink_trace(rng, n_times: int, sfreq: float, amplitude_uv: float) -> np.ndarray:
    """A blink time course in µV, shape (n_times,): Poisson onsets (0.25 /s), half-sine shapes."""
    trace = np.zeros(n_times)
    if amplitude_uv <= 0:
        return trace
    n_blinks = rng.poisson(0.25 * n_times / sfreq)
    for onset in rng.integers(0, n_times, n_blinks):
        length = int(rng.uniform(0.3, 0.45) * sfreq)
        shape = np.sin(np.pi * np.arange(length) / length) * amplitude_uv * rng.uniform(0.7, 1.3)
        stop = min(n_times, onset + length)
        trace[onset:stop] += shape[: stop - onset]
    return trace
