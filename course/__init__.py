"""Training Deep Networks: the support library every lecture and assignment imports.

It holds data, gradient checking, the trainer and its schedules, diagnostics, plots, 2-D test
surfaces and the PyTorch bridge, and no assignment answers. Importing `course` stays light (no
torch, no matplotlib); reach `course.plots`, `course.diagnostics`, `course.surfaces` and
`course.torch_bridge` by module path.

Importing `course` also caps NumPy's BLAS and OpenMP threads at one (and torch's, see
`course.threads`): the course's small matrices train many times faster on one thread than with
threads that wait for each other. Set TDN_THREADS=N for N threads, TDN_THREADS=0 to opt out.
"""
from course import schedules
from course import threads as _threads
from course.data import load_dataset, minibatches, train_val_test_split
from course.gradcheck import check_layer, check_loss, check_model, numerical_gradient, numerical_gradient_array, rel_error
from course.tolerance import assert_close, compare
from course.training import History, Trainer

_threads.cap_threads()

__all__ = [
    "History",
    "Trainer",
    "assert_close",
    "check_layer",
    "check_loss",
    "check_model",
    "compare",
    "load_dataset",
    "minibatches",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
    "schedules",
    "train_val_test_split",
]
