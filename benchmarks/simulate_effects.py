"""Recover the simulator's affect effect sizes from its output (per dataset flavour).

Usage: ``python benchmarks/simulate_effects.py`` . For each flavour, simulates 3 subjects x 40 trials
of 20 s with the default :class:`EffectSizes`, with and without trial fingerprints, and prints the
regression slopes (dB per unit of normalised rating) of frontal alpha asymmetry on valence,
posterior alpha on arousal and mean beta on arousal, next to the configured values.
"""

import numpy as np
from scipy.signal import welch

from neuroaffect.simulate import SEED_AFFECT, EffectSizes, simulate_trials
from neuroaffect.simulate.eeg import LEFT_FRONTAL, RIGHT_FRONTAL


def slopes(dataset, effects):
    trials = simulate_trials(
        dataset,
        n_subjects=3,
        n_trials=40,
        trial_duration=20.0,
        baseline_duration=0,
        effects=effects,
        seed=11,
    )
    if dataset == "seed":
        affect = np.array([SEED_AFFECT[int(c)] for c in trials.rating("emotion")])
        valence, arousal = affect[:, 0], affect[:, 1]
    else:
        scale = trials.scales["valence"]
        valence, arousal = (
            scale.normalize(trials.rating("valence")),
            scale.normalize(trials.rating("arousal")),
        )
    x = np.stack(trials.signals).astype(float)
    f, p = welch(x, fs=trials.sfreq, nperseg=int(2 * trials.sfreq), axis=-1)

    def db(lo, hi):
        return 10 * np.log10(p[..., (f >= lo) & (f <= hi)].mean(-1))

    names = list(trials.ch_names)
    alpha, beta = db(8.5, 12.5), db(14, 29)
    right = [names.index(c) for c in RIGHT_FRONTAL if c in names]
    left = [names.index(c) for c in LEFT_FRONTAL if c in names]
    post = [i for i, n in enumerate(names) if n.startswith(("P", "O", "CB", "I"))]
    out = []
    for y, xv in [
        (alpha[:, right].mean(1) - alpha[:, left].mean(1), valence),
        (alpha[:, post].mean(1), arousal),
        (beta.mean(1), arousal),
    ]:
        # within-subject slopes (subject means removed)
        yc = np.concatenate(
            [
                y[trials.subject == s] - y[trials.subject == s].mean()
                for s in np.unique(trials.subject)
            ]
        )
        xc = np.concatenate(
            [
                xv[trials.subject == s] - xv[trials.subject == s].mean()
                for s in np.unique(trials.subject)
            ]
        )
        out.append(np.polyfit(xc, yc, 1)[0])
    return out


def main():
    d = EffectSizes()
    print(
        f"configured: FAA/valence {d.valence_asymmetry_db:+.2f}, post. alpha/arousal {d.arousal_alpha_db:+.2f}, beta/arousal {d.arousal_beta_db:+.2f} dB per unit"
    )
    for dataset in ("deap", "dreamer", "seed"):
        for label, effects in [
            ("fingerprint on ", d),
            ("fingerprint off", EffectSizes(fingerprint_db=0.0)),
        ]:
            s = slopes(dataset, effects)
            print(
                f"{dataset:8s} {label}: FAA {s[0]:+.2f}, post. alpha {s[1]:+.2f}, beta {s[2]:+.2f}"
            )


if __name__ == "__main__":
    main()
