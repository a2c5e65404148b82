"""Tests of the notebook runner: it must fail, naming notebook and cell, when a cell fails."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

sys.path.insert(0, str(Path(__file__).parent))
from run_notebooks import KERNEL, cell_failures  # noqa: E402

RUNNER = Path(__file__).parent / "run_notebooks.py"


def nb_with(*cells):
    nb = new_notebook()
    nb.cells = list(cells)
    return nb


def code(src, *outputs):
    c = new_code_cell(src)
    c.outputs = list(outputs)
    c.execution_count = 1
    return c


def test_clean_outputs_pass():
    nb = nb_with(new_markdown_cell("# hi"), code("1+1", new_output("stream", name="stdout", text="2\n")))
    assert cell_failures(nb) == []


@pytest.mark.parametrize(
    "text",
    [
        "thread '<unnamed>' panicked at src/lib.rs:3:5:\nboom\n",
        "error[E0425]: cannot find value `x` in this scope\n",
        "Error: Io { path: \"missing.wav\" }\n",
        "Child process terminated with status: signal: 6 (core dumped)\n",
    ],
)
def test_stderr_failures_are_caught(text):
    nb = nb_with(code("let a = 1;"), code("boom()", new_output("stream", name="stderr", text=text)))
    failures = cell_failures(nb)
    assert [f[0] for f in failures] == [1]


def test_benign_stderr_passes_and_other_stderr_fails():
    benign = new_output("stream", name="stderr", text="warning: unused variable `x`\n\n")
    assert cell_failures(nb_with(code("let x = 1;", benign))) == []
    message = new_output("stream", name="stderr", text="no such file\n")
    assert [f[0] for f in cell_failures(nb_with(code("r?", message)))] == [0]


def test_a_real_data_skip_fails_only_when_the_data_are_required(monkeypatch):
    nb = nb_with(code("jvm", new_output("stream", name="stdout", text="skipping: no recordings under ../shared/data/real\n")))
    monkeypatch.delenv("AMPSIM_REQUIRE_SHARED", raising=False)
    assert cell_failures(nb) == []
    monkeypatch.setenv("AMPSIM_REQUIRE_SHARED", "1")
    assert len(cell_failures(nb)) == 1


def test_error_output_is_caught():
    err = new_output("error", ename="Error", evalue="cannot find value `y`", traceback=["cannot find value `y`"])
    nb = nb_with(code("y", err))
    assert [f[0] for f in cell_failures(nb)] == [0]


def kernel_available():
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        KernelSpecManager().get_kernel_spec(KERNEL)
        return True
    except Exception:
        return False


@pytest.fixture
def need_kernel():
    if not kernel_available():
        if os.environ.get("AMPSIM_REQUIRE_KERNEL") == "1":
            pytest.fail(f"kernelspec {KERNEL} is not installed (run make setup)")
        pytest.skip(f"kernelspec {KERNEL} is not installed")


def run_runner(tmp_path, name, cells):
    path = tmp_path / name
    nbformat.write(nb_with(*cells), path)
    return subprocess.run(
        [sys.executable, str(RUNNER), "--out-dir", str(tmp_path / "out"), "--timeout", "600", str(path)],
        capture_output=True,
        text=True,
    )


def test_a_panicking_cell_fails_the_run_and_is_named(tmp_path, need_kernel):
    r = run_runner(
        tmp_path,
        "panics.ipynb",
        [code('let greeting = "hello";'), code('println!("{greeting}");'), code('panic!("deliberate failure in a test");')],
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "panics.ipynb" in r.stdout and "cell 2" in r.stdout, r.stdout
    assert "deliberate failure in a test" in r.stdout, r.stdout
    assert "0 passed, 1 failed" in r.stdout


def test_a_failed_question_mark_and_a_compile_error_fail(tmp_path, need_kernel):
    r = run_runner(
        tmp_path,
        "errors.ipynb",
        [code('let r: Result<i32, std::io::Error> = Err(std::io::Error::other("no such file")); let v = r?;')],
    )
    assert r.returncode == 1 and "errors.ipynb" in r.stdout and "cell 0" in r.stdout, r.stdout
    assert "no such file" in r.stdout, r.stdout
    r = run_runner(tmp_path, "compile.ipynb", [code("let z = undefined_name + 1;")])
    assert r.returncode == 1 and "compile.ipynb" in r.stdout and "cell 0" in r.stdout, r.stdout


def test_a_good_notebook_passes(tmp_path, need_kernel):
    r = run_runner(tmp_path, "good.ipynb", [code("let x = 40 + 2;"), code('println!("x = {x}");')])
    assert r.returncode == 0, r.stdout + r.stderr
    out = nbformat.read(tmp_path / "out" / "good.ipynb", as_version=4)
    assert "x = 42" in out.cells[1].outputs[0]["text"]
