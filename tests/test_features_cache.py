"""HDF5 token cache: hits, misses, invalidation, corruption recovery, atomic writes, resume."""

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from neuroaffect import EEGTrials
from neuroaffect._validation import FileFormatError
from neuroaffect.features import Tokenizer, tokens_for_dataset
from neuroaffect.features import cache as cache_module
from neuroaffect.features.cache import CacheWarning

CH = ["Fz", "Cz", "Pz"]


@dataclass(frozen=True)
class Source:
    """Stand-in for neuroaffect.io's SubjectSource: one .npy file per subject, loads counted."""

    subject: str
    files: tuple
    loads: list = field(default_factory=list, compare=False)
    fail: bool = False

    def load(self):
        if self.fail:
            raise RuntimeError(f"cannot read subject {self.subject}")
        self.loads.append(self.subject)
        data = np.load(self.files[0])
        n = len(data)
        return EEGTrials.from_arrays(
            data, 128.0, CH, np.full((n, 3), 5.0), subject=[self.subject] * n,
            trial=np.arange(1, n + 1), dataset="sim",
        )


def write_subject(folder: Path, subject: str, seed: int) -> Path:
    data = 1e-5 * np.random.default_rng(seed).standard_normal((2, len(CH), 384))
    path = folder / f"{subject}.npy"
    np.save(path, data)
    return path


@pytest.fixture
def dataset(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    loads = []
    sources = [Source(s, (write_subject(folder, s, i),), loads) for i, s in enumerate(["s01", "s02", "s03"])]
    return sources, loads, tmp_path / "cache" / "tokens.h5"


def assert_same_tokens(a, b):
    np.testing.assert_array_equal(a.X, b.X)
    for name in ("ratings", "subject", "session", "trial_key", "start", "stop", "positions"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.trial_key.dtype.kind == b.trial_key.dtype.kind == "U"
    assert (a.ch_names, a.band_names, a.rating_names, a.sfreq, a.dataset) == \
        (b.ch_names, b.band_names, b.rating_names, b.sfreq, b.dataset)
    assert a.scales == b.scales


def run(sources, cache, **params):
    return tokens_for_dataset(sources, Tokenizer(**params), cache=cache, progress=False)


def test_miss_then_hit_without_loading(dataset):
    sources, loads, cache = dataset
    first = run(sources, cache)
    assert loads == ["s01", "s02", "s03"] and cache.is_file()
    umask = os.umask(0)
    os.umask(umask)
    assert cache.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temporary file's private 0600
    loads.clear()
    second = run(sources, cache)
    assert loads == []
    assert_same_tokens(first, second)
    assert_same_tokens(first, tokens_for_dataset(sources, Tokenizer(), cache=None, progress=False))
    # A subset is served from the same file; n_jobs does not change the numbers, so it still hits.
    loads.clear()
    subset = tokens_for_dataset(sources[1:], Tokenizer(n_jobs=2), cache=cache, progress=False)
    assert loads == [] and set(subset.subject) == {"s02", "s03"}


def test_parameter_change_invalidates(dataset):
    sources, loads, cache = dataset
    run(sources, cache)
    loads.clear()
    other = run(sources, cache, window=0.5)
    assert loads == ["s01", "s02", "s03"] and other.stop[0] == 64
    loads.clear()
    run(sources, cache, bands="with-delta")
    assert loads == ["s01", "s02", "s03"]
    loads.clear()
    run(sources, cache, bands="with-delta")
    assert loads == []


def test_file_change_recomputes_only_that_subject(dataset):
    sources, loads, cache = dataset
    before = run(sources, cache)
    path = sources[1].files[0]
    write_subject(path.parent, "s02", seed=99)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    loads.clear()
    after = run(sources, cache)
    assert loads == ["s02"]
    s02 = after.subject == "s02"
    assert not np.allclose(after.X[s02], before.X[s02])
    np.testing.assert_array_equal(after.X[~s02], before.X[~s02])


def test_content_hash_notices_same_size_and_mtime(dataset):
    sources, loads, cache = dataset
    path = sources[0].files[0]

    def rewrite_keeping_size_and_mtime(seed):
        stat = path.stat()
        write_subject(path.parent, "s01", seed=seed)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert path.stat().st_size == stat.st_size

    for seed, hash_content, expected in ((100, False, []), (101, True, ["s01"])):
        tokens_for_dataset(sources, Tokenizer(), cache=cache, progress=False, hash_content=hash_content)
        rewrite_keeping_size_and_mtime(seed)
        loads.clear()
        tokens_for_dataset(sources, Tokenizer(), cache=cache, progress=False, hash_content=hash_content)
        assert loads == expected  # size and mtime alone cannot see the change; the content hash does


def test_truncated_file_is_reported_and_rebuilt(dataset):
    sources, loads, cache = dataset
    first = run(sources, cache)
    size = cache.stat().st_size
    with open(cache, "r+b") as f:
        f.truncate(size // 2)
    loads.clear()
    with pytest.warns(CacheWarning, match=str(cache)):
        again = run(sources, cache)
    assert loads == ["s01", "s02", "s03"]
    assert_same_tokens(first, again)
    loads.clear()
    run(sources, cache)
    assert loads == []


def test_missing_dataset_recomputes_that_subject(dataset):
    sources, loads, cache = dataset
    first = run(sources, cache)
    with h5py.File(cache, "a") as f:
        del f["subjects/s03/X"]
    loads.clear()
    with pytest.warns(CacheWarning, match=rf"{cache}.*'s03'"):
        again = run(sources, cache)
    assert loads == ["s03"]
    assert_same_tokens(first, again)
    loads.clear()
    run(sources, cache)
    assert loads == []


def test_empty_file_is_rebuilt_foreign_files_are_refused(dataset, tmp_path):
    sources, loads, cache = dataset
    cache.parent.mkdir()
    cache.write_bytes(b"")
    with pytest.warns(CacheWarning):
        run(sources, cache)
    foreign = tmp_path / "mine.h5"
    with h5py.File(foreign, "w") as f:
        f["precious"] = np.arange(3)
    with pytest.raises(FileFormatError, match="not a neuroaffect token cache; refusing"):
        run(sources, foreign)
    text = tmp_path / "notes.txt"
    text.write_text("my notes, not a cache")
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        run(sources, text)
    assert text.read_text() == "my notes, not a cache"
    with h5py.File(foreign, "r") as f:
        assert list(f) == ["precious"]


def test_atomic_write_leaves_no_partial_file(dataset, monkeypatch):
    sources, loads, cache = dataset
    run(sources[:1], cache)
    before = cache.read_bytes()
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(cache_module, "_write_group", broken)
    with pytest.raises(OSError, match="disk full"):
        run(sources, cache)
    assert calls and cache.read_bytes() == before
    assert sorted(p.name for p in cache.parent.iterdir()) == ["tokens.h5"]


def test_interrupted_run_resumes(dataset):
    sources, loads, cache = dataset
    crashing = [sources[0], sources[1], Source("s03", sources[2].files, loads, fail=True)]
    with pytest.raises(RuntimeError, match="cannot read subject s03"):
        run(crashing, cache)
    assert loads == ["s01", "s02"]
    loads.clear()
    tokens = run(sources, cache)
    assert loads == ["s03"]
    assert list(dict.fromkeys(tokens.subject)) == ["s01", "s02", "s03"]


def test_bad_sources(dataset):
    sources, loads, cache = dataset
    with pytest.raises(ValueError, match="sources is empty"):
        run([], cache)
    with pytest.raises(ValueError, match=r"\['s01'\] more than once"):
        run([sources[0], sources[0]], cache)
    missing = Source("s09", (cache.parent / "nope.npy",), loads)
    with pytest.raises(FileNotFoundError, match="data file of subject s09 not found"):
        run([missing], cache)


def test_with_the_dataset_loaders(tmp_path):
    """End to end on a tiny simulated DEAP folder read by neuroaffect.io.list_subjects."""
    from neuroaffect import io, simulate

    data_dir = simulate.write_deap(tmp_path / "deap", n_subjects=2, n_trials=2, trial_duration=4.0,
                                   progress=False)
    sources = io.list_subjects("deap", data_dir)
    cache = tmp_path / "tokens.h5"
    first = tokens_for_dataset(sources, Tokenizer(), cache=cache, progress=False)
    assert first.X.shape == (2 * 2 * 4, 32, 4) and first.dataset == "deap"
    assert len(set(first.trial_key)) == 4 and np.isfinite(first.X).all()
    again = tokens_for_dataset(io.list_subjects("deap", data_dir), Tokenizer(), cache=cache, progress=False)
    assert_same_tokens(first, again)


def test_reader_options_and_dataset_are_part_of_the_key(tmp_path):
    """SEED-IV's sfreq and drop_cerebellar change what load() returns: they must not hit old tokens."""
    from neuroaffect import io, simulate

    root = simulate.write_seed_iv(tmp_path / "seed_iv", n_subjects=1, n_trials=24, trial_duration=2.0,
                                  progress=False)
    cache = tmp_path / "tokens.h5"
    tokenizer = Tokenizer(window=0.5)
    first = tokens_for_dataset(io.list_subjects("seed_iv", root, sfreq=200.0), tokenizer, cache, progress=False)
    for options in ({"sfreq": 400.0}, {"sfreq": 200.0, "drop_cerebellar": True}):
        sources = io.list_subjects("seed_iv", root, **options)
        cached = tokens_for_dataset(sources, tokenizer, cache, progress=False)
        assert_same_tokens(cached, tokens_for_dataset(sources, tokenizer, None, progress=False))
        assert (cached.sfreq, len(cached.ch_names)) != (first.sfreq, len(first.ch_names))
    again = tokens_for_dataset(io.list_subjects("seed_iv", root, sfreq=200.0), tokenizer, cache, progress=False)
    assert_same_tokens(first, again)
    # The key itself: options and dataset count (order of options does not); duck-typed sources
    # without them still get a key.
    source = io.list_subjects("seed_iv", root, sfreq=200.0)[0]
    key = cache_module.subject_key(source, tokenizer)
    assert key == cache_module.subject_key(replace(source, options=(("sfreq", 200.0),)), tokenizer)
    assert key != cache_module.subject_key(replace(source, dataset="seed"), tokenizer)
    assert key != cache_module.subject_key(replace(source, options=(("sfreq", 1000.0),)), tokenizer)
    plain = Source("1", source.files)
    assert cache_module.subject_key(plain, tokenizer) != key


def test_short_non_hdf5_files_are_never_overwritten(dataset, tmp_path):
    sources, loads, cache = dataset
    for content in (b"todo\n", b"x", b"\x89HDF"):
        notes = tmp_path / "notes.txt"
        notes.write_bytes(content)
        with pytest.raises(FileFormatError, match=r"notes\.txt: is not an HDF5 file.*refusing to overwrite"):
            run(sources, notes)
        assert notes.read_bytes() == content
    assert loads == []


def test_a_symlinked_cache_stays_a_link_to_the_updated_file(dataset, tmp_path):
    sources, loads, cache = dataset
    run(sources[:1], cache)
    link = tmp_path / "link.h5"
    link.symlink_to(cache)
    both = run(sources[:2], link)
    assert link.is_symlink() and link.resolve() == cache.resolve()
    loads.clear()
    assert_same_tokens(run(sources[:2], cache), both)
    assert loads == []  # the file the link points to holds both subjects


def fresh_tokens(sources):
    return tokens_for_dataset(sources, Tokenizer(), cache=None, progress=False)


def test_a_flipped_byte_in_a_stored_array_is_detected_and_recomputed(dataset):
    sources, loads, cache = dataset
    run(sources, cache)
    with h5py.File(cache, "r") as f:
        offset = f["subjects/s02/X"].id.get_offset()  # contiguous storage: the array's first byte
    assert offset is not None
    with open(cache, "r+b") as f:
        f.seek(offset + 1)  # a low mantissa byte of the first value: a small, plausible change
        byte = f.read(1)
        f.seek(offset + 1)
        f.write(bytes([byte[0] ^ 0x01]))
    loads.clear()
    with pytest.warns(CacheWarning, match=rf"{cache} has a corrupt entry for subject 's02'.*subjects/s02/X"):
        served = run(sources, cache)
    assert loads == ["s02"]
    assert_same_tokens(served, fresh_tokens(sources))
    loads.clear()
    assert_same_tokens(run(sources, cache), served)  # the repaired entry is served again
    assert loads == []


@pytest.mark.parametrize("field", ["X", "trial_key"])
def test_an_array_overwritten_in_place_is_detected_and_recomputed(dataset, field):
    sources, loads, cache = dataset
    run(sources, cache)
    with h5py.File(cache, "a") as f:  # fletcher32 would not notice this: HDF5 rewrites its checksum
        dset = f[f"subjects/s01/{field}"]
        dset[...] = 0 if field == "X" else "1/1/9"
    loads.clear()
    with pytest.warns(CacheWarning, match=rf"{cache} has a corrupt entry for subject 's01'.*subjects/s01/{field}"):
        served = run(sources, cache)
    assert loads == ["s01"]
    assert_same_tokens(served, fresh_tokens(sources))


def test_changed_metadata_is_detected_and_recomputed(dataset):
    sources, loads, cache = dataset
    run(sources, cache)
    with h5py.File(cache, "a") as f:
        group = f["subjects/s03"]
        group.attrs["meta"] = group.attrs["meta"].replace('"sfreq": 128.0', '"sfreq": 256.0')
    loads.clear()
    with pytest.warns(CacheWarning, match=rf"{cache} has a corrupt entry for subject 's03'.*'meta'"):
        served = run(sources, cache)
    assert loads == ["s03"] and served.sfreq == 128.0


def test_corrupt_entries_of_other_subjects_are_dropped_when_the_file_is_rewritten(dataset):
    sources, loads, cache = dataset
    run(sources[:2], cache)
    with h5py.File(cache, "a") as f:
        f["subjects/s01/start"][0] += 1
    with pytest.warns(CacheWarning, match=rf"{cache} has a corrupt entry 's01'.*subjects/s01/start.*dropping"):
        run(sources[2:], cache)
    with h5py.File(cache, "r") as f:
        assert sorted(f["subjects"]) == ["s02", "s03"]


def test_entries_without_checksums_are_stale(dataset, recwarn):
    """Groups written before checksums existed are recomputed (no warning) and not kept."""
    sources, loads, cache = dataset
    first = run(sources, cache)
    with h5py.File(cache, "a") as f:  # back to the previous layout: the same data, no checksums
        for name in ("s01", "s02"):
            group = f["subjects"][name]
            for attr in ("integrity", "meta_sha256"):
                if attr in group.attrs:
                    del group.attrs[attr]
            for dset in group.values():
                if "sha256" in dset.attrs:
                    del dset.attrs["sha256"]
    loads.clear()
    again = run(sources[:1], cache)
    assert loads == ["s01"]
    assert_same_tokens(again, first[first.subject == "s01"])
    assert not [w for w in recwarn if issubclass(w.category, CacheWarning)]
    with h5py.File(cache, "r") as f:
        assert sorted(f["subjects"]) == ["s01", "s03"]  # s02 stale: dropped, s01 rewritten
    loads.clear()
    run(sources, cache)
    assert loads == ["s02"]


# -- trials in memory (own data) are cached by their content (issue 15, item 5) ------------------
def own_trials(seed=0, subjects=("a", "a", "b", "b"), **kwargs):
    data = 1e-5 * np.random.default_rng(seed).standard_normal((len(subjects), len(CH), 384))
    options = {"ratings": np.full((len(subjects), 3), 5.0), "subject": list(subjects), "dataset": "own", **kwargs}
    return EEGTrials.from_arrays(data, options.pop("sfreq", 128.0), options.pop("ch_names", CH), **options)


@pytest.fixture
def count_transforms(monkeypatch):
    """The subjects each Tokenizer.transform call computed (a cache hit computes none)."""
    computed = []
    original = Tokenizer.transform

    def transform(self, trials):
        computed.append(sorted(set(np.asarray(trials.subject).tolist())))
        return original(self, trials)

    monkeypatch.setattr(Tokenizer, "transform", transform)
    return computed


def test_eegtrials_are_served_and_cached_by_their_content(tmp_path, count_transforms):
    cache = tmp_path / "own.h5"
    trials = own_trials()
    first = tokens_for_dataset(trials, Tokenizer(), cache=cache, progress=False)
    assert count_transforms == [["a"], ["b"]] and cache.is_file()
    # the same tokens as tokenizing the trials at once (subjects contiguous here)
    assert_same_tokens(first, Tokenizer().transform(trials))
    count_transforms.clear()
    again = tokens_for_dataset(own_trials(), Tokenizer(), cache=cache, progress=False)  # equal data, new object
    assert count_transforms == [] and not np.shares_memory(again.X, first.X)
    assert_same_tokens(first, again)
    # new data under the old subject ids: recomputed, never the stale tokens
    changed = own_trials(seed=1)
    fresh = tokens_for_dataset(changed, Tokenizer(), cache=cache, progress=False)
    assert count_transforms == [["a"], ["b"]]
    assert_same_tokens(fresh, Tokenizer().transform(changed))
    assert not np.allclose(fresh.X, first.X)


@pytest.mark.parametrize("change", [
    {"sfreq": 256.0}, {"ch_names": ["Fz", "Cz", "Oz"]}, {"ratings": np.full((4, 3), 6.0)},
    {"trial": [5, 6, 7, 8]}, {"session": ["2", "2", "2", "2"]}, {"dataset": "other"}, {"change_one_sample": True},
])
def test_every_part_of_the_trials_is_in_the_content_key(tmp_path, count_transforms, change):
    cache = tmp_path / "own.h5"
    tokens_for_dataset(own_trials(), Tokenizer(), cache=cache, progress=False)
    count_transforms.clear()
    if change.pop("change_one_sample", False):
        other = own_trials()
        other.signals[3][2, 100] += 1e-7  # subject "b" only
        expected = [["b"]]
    else:
        other = own_trials(**change)
        expected = [["a"], ["b"]]
    served = tokens_for_dataset(other, Tokenizer(), cache=cache, progress=False)
    assert count_transforms == expected
    assert_same_tokens(served, Tokenizer().transform(other))


def test_tokenizer_parameters_are_in_the_content_key(tmp_path, count_transforms):
    cache = tmp_path / "own.h5"
    trials = own_trials()
    tokens_for_dataset(trials, Tokenizer(), cache=cache, progress=False)
    count_transforms.clear()
    half = tokens_for_dataset(trials, Tokenizer(window=0.5), cache=cache, progress=False)
    assert count_transforms == [["a"], ["b"]] and half.stop[0] == 64
    count_transforms.clear()
    tokens_for_dataset(trials, Tokenizer(window=0.5, n_jobs=2), cache=cache, progress=False)
    assert count_transforms == []  # n_jobs does not change the numbers


def test_a_source_without_files_is_keyed_by_what_it_loads(tmp_path, count_transforms):
    """It used to be keyed by its subject id alone: new data under an old id got the old tokens."""

    @dataclass
    class Memory:
        subject: str
        trials: EEGTrials
        files: tuple = ()

        def load(self):
            return self.trials

    cache = tmp_path / "own.h5"
    old = own_trials(subjects=("a", "a"))
    tokens_for_dataset([Memory("a", old)], Tokenizer(), cache=cache, progress=False)
    new = own_trials(seed=5, subjects=("a", "a"))
    served = tokens_for_dataset([Memory("a", new)], Tokenizer(), cache=cache, progress=False)
    assert count_transforms == [["a"], ["a"]]
    assert_same_tokens(served, Tokenizer().transform(new))
    count_transforms.clear()
    tokens_for_dataset([Memory("a", new)], Tokenizer(), cache=cache, progress=False)
    assert count_transforms == []
    key = cache_module.trials_key(new, Tokenizer())
    assert key == cache_module.trials_key(own_trials(seed=5, subjects=("a", "a")), Tokenizer())
    assert key != cache_module.trials_key(old, Tokenizer()) and len(key) == 64


def test_trials_and_sources_mix_and_subjects_stay_unique(tmp_path, dataset):
    sources, loads, _ = dataset
    mine = own_trials(subjects=("x", "x", "y", "y"))
    tokens = tokens_for_dataset([sources[0], mine], Tokenizer(), cache=tmp_path / "mix.h5", progress=False)
    assert list(dict.fromkeys(tokens.subject)) == ["s01", "x", "y"] and loads == ["s01"]
    with pytest.raises(ValueError, match=r"\['a'\] more than once"):
        tokens_for_dataset([own_trials(), own_trials(subjects=("a",))], Tokenizer(), progress=False)
