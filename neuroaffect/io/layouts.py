"""Fixed facts about the file layouts of the supported datasets.

Shared by the readers (:mod:`neuroaffect.io`) and the simulator (:mod:`neuroaffect.simulate`) so the
two always agree. Sources: each dataset's own documentation, summarised in the project's
``eeg-datasets.md``.
"""

from __future__ import annotations

#: DEAP ``data_preprocessed_python``: 32 EEG channels in "Geneva" order, then 8 peripheral ones.
DEAP_EEG_CHANNELS = (
    "Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz",
    "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2", "P4", "P8",
    "PO4", "O2",
)  # fmt: skip
DEAP_PERIPHERAL_CHANNELS = (
    "hEOG",
    "vEOG",
    "zEMG",
    "tEMG",
    "GSR",
    "Respiration",
    "Plethysmograph",
    "Temperature",
)
DEAP_N_CHANNELS = 40
DEAP_SFREQ = 128.0
#: The first 3 s (384 samples) of every preprocessed DEAP trial are the pre-trial baseline.
DEAP_BASELINE_SAMPLES = 384
DEAP_STIMULUS_SAMPLES = 7680
DEAP_N_TRIALS = 40
DEAP_RATINGS = ("valence", "arousal", "dominance", "liking")

#: SEED / SEED-IV 62-channel Neuroscan layout (CB1/CB2: cerebellar sites, see neuroaffect.channels).
SEED_CHANNELS = (
    "Fp1", "Fpz", "Fp2", "AF3", "AF4", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6", "F8", "FT7",
    "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1", "Cz", "C2", "C4",
    "C6", "T8", "TP7", "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "TP8", "P7", "P5", "P3", "P1",
    "Pz", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POz", "PO4", "PO6", "PO8", "CB1", "O1", "Oz",
    "O2", "CB2",
)  # fmt: skip
SEED_CEREBELLAR = ("CB1", "CB2")
#: SEED ``Preprocessed_EEG`` is downsampled to 200 Hz by the authors.
SEED_SFREQ = 200.0
#: ``label.mat["label"][0]``: 1 positive, 0 neutral, -1 negative; the same in every session.
SEED_LABELS = (1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1)
#: Approximate lengths (s) of the 15 SEED film clips, used by the simulator only.
SEED_CLIP_SECONDS = (235, 233, 206, 238, 185, 195, 237, 216, 265, 237, 235, 233, 235, 238, 206)

#: SEED-IV labels per session (0 neutral, 1 sad, 2 fear, 3 happy); not stored in any file.
SEED_IV_LABELS = {
    1: (1, 2, 3, 0, 2, 0, 0, 1, 0, 1, 2, 1, 1, 1, 2, 3, 2, 2, 3, 3, 0, 3, 0, 3),
    2: (2, 1, 3, 0, 0, 2, 0, 2, 3, 3, 2, 3, 2, 0, 1, 1, 2, 1, 0, 3, 0, 1, 3, 1),
    3: (1, 2, 2, 1, 3, 3, 3, 1, 1, 2, 1, 0, 2, 3, 3, 0, 2, 3, 0, 0, 2, 0, 1, 0),
}

#: DREAMER: Emotiv EPOC channel order, 128 Hz, 61 s baseline before each of 18 clips.
DREAMER_CHANNELS = (
    "AF3",
    "F7",
    "F3",
    "FC5",
    "T7",
    "P7",
    "O1",
    "O2",
    "P8",
    "T8",
    "FC6",
    "F4",
    "F8",
    "AF4",
)
DREAMER_SFREQ = 128.0
DREAMER_BASELINE_SECONDS = 61
DREAMER_N_SUBJECTS = 23
DREAMER_N_TRIALS = 18
DREAMER_RATINGS = ("valence", "arousal", "dominance")
DREAMER_SCORE_FIELDS = ("ScoreValence", "ScoreArousal", "ScoreDominance")
