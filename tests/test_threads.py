"""`import course` caps the thread pools in a fresh interpreter, as a plain `jupyter lab` kernel starts one.

Each test starts Python with an environment from which every thread variable is removed
(OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS, TDN_THREADS, ...), so nothing but
`course.threads` can be what sets the count.
"""
import json
import os
import subprocess
import sys

import pytest

from lecture_runner import ROOT

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "GOTO_NUM_THREADS", "TDN_THREADS")


def run_clean(code: str, **env) -> dict:
    """Run `code` in a fresh interpreter with no thread variables (plus `env`); it prints one JSON value."""
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    result = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


BLAS_THREADS = (
    "import json, threadpoolctl\n"
    "{imports}\n"
    "print(json.dumps({{i['filepath']: i['num_threads'] for i in threadpoolctl.threadpool_info()"
    " if i['user_api'] == 'blas'}}))"
)


def test_import_course_caps_numpys_blas_at_one_thread():
    threads = run_clean(BLAS_THREADS.format(imports="import course"))

    assert threads, "threadpoolctl found no BLAS library after `import course`"
    assert set(threads.values()) == {1}, f"BLAS threads after `import course`: {threads}"


def test_a_blas_loaded_after_import_course_starts_capped_too():
    threads = run_clean(BLAS_THREADS.format(imports="import course\nimport scipy.linalg  # SciPy's own OpenBLAS"))

    assert len(threads) == 2, f"expected NumPy's and SciPy's OpenBLAS, found {threads}"
    assert set(threads.values()) == {1}, f"BLAS threads: {threads}"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="with one core every library defaults to one thread")
def test_tdn_threads_zero_leaves_the_blas_default():
    threads = run_clean(BLAS_THREADS.format(imports="import course"), TDN_THREADS="0")

    assert max(threads.values()) > 1, f"with TDN_THREADS=0 the BLAS should keep its default, got {threads}"


def test_tdn_threads_sets_another_count():
    threads = run_clean(BLAS_THREADS.format(imports="import course"), TDN_THREADS="2")

    assert set(threads.values()) == {2}


@pytest.mark.parametrize("imports", [
    "import torch\nimport course",           # a lecture's order: torch first, then course
    "import course\nimport course.torch_nets",  # torch arrives with the course module that needs it
    "import course\nimport course.torch_bridge",
])
def test_torch_runs_on_one_intra_op_thread(imports):
    assert run_clean(f"import json\n{imports}\nimport torch\nprint(torch.get_num_threads())") == 1


def test_import_course_does_not_import_torch():
    assert run_clean("import json, sys\nimport course\nprint(json.dumps('torch' in sys.modules))") is False


def test_a_bad_tdn_threads_is_named():
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    result = subprocess.run([sys.executable, "-c", "import course"], env={**clean, "TDN_THREADS": "all"},
                            cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode != 0 and "TDN_THREADS must be a whole number" in result.stderr
