"""The one list of what is graded: assignments, their graded functions, the checks and the points.

Everything else (the hidden test cells, the solution cells synced from `solutions/`, the catalogue
of mistakes, the demo) reads this list; nothing repeats it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Graded:
    """One graded item: a function (or class) the student writes, and how it is checked.

    - name: the name the student defines in the notebook, also its name in `solutions`
    - check: the probe that exercises it (see autograder.probes); usually equal to name, but
      FullyConnectedNet is checked differently in a1, a3 and a4
    - points: the points of its hidden test cell
    """

    name: str
    points: int
    check: str = ""

    @property
    def check_id(self) -> str:
        return self.check or self.name


ASSIGNMENTS: dict[str, tuple[Graded, ...]] = {
    "a1_backprop": (
        Graded("affine_forward", 2),
        Graded("affine_backward", 3),
        Graded("relu_forward", 1),
        Graded("relu_backward", 1),
        Graded("leaky_relu_forward", 1),
        Graded("leaky_relu_backward", 1),
        Graded("sigmoid_forward", 1),
        Graded("sigmoid_backward", 1),
        Graded("tanh_forward", 1),
        Graded("tanh_backward", 1),
        Graded("softmax_loss", 3),
        Graded("mse_loss", 2),
        Graded("TwoLayerNet", 3, check="two_layer_net"),
        Graded("FullyConnectedNet", 4, check="fcnet_plain"),
    ),
    "a2_optimizers": (
        Graded("xavier_uniform", 1),
        Graded("xavier_normal", 1),
        Graded("kaiming_uniform", 1),
        Graded("kaiming_normal", 1),
        Graded("orthogonal", 2),
        Graded("sgd", 1),
        Graded("sgd_momentum", 2),
        Graded("nesterov", 2),
        Graded("adagrad", 2),
        Graded("rmsprop", 2),
        Graded("adam", 3),
        Graded("adamw", 2),
        Graded("clip_grad_norm", 2),
        Graded("clip_grad_value", 1),
    ),
    "a3_normalization": (
        Graded("batchnorm_forward", 4),
        Graded("batchnorm_backward", 4),
        Graded("batchnorm_backward_alt", 2),
        Graded("layernorm_forward", 2),
        Graded("layernorm_backward", 3),
        Graded("FullyConnectedNet", 3, check="fcnet_normalization"),
    ),
    "a4_regularization": (
        Graded("dropout_forward", 3),
        Graded("dropout_backward", 2),
        Graded("FullyConnectedNet", 4, check="fcnet_regularization"),
    ),
}


def graded(assignment: str) -> tuple[Graded, ...]:
    """The graded items of an assignment, with an error that lists the valid ids."""
    try:
        return ASSIGNMENTS[assignment]
    except KeyError:
        raise KeyError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}") from None


def find(check_id: str) -> Graded:
    """The graded item with this check id, in whichever assignment holds it."""
    for items in ASSIGNMENTS.values():
        for item in items:
            if item.check_id == check_id:
                return item
    raise KeyError(f"no graded item with check id {check_id!r}")
