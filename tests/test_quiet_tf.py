"""Importing the package first keeps TensorFlow's import notices (oneDNN) off stderr."""

import os
import subprocess
import sys

import pytest


def _stderr_of(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.slow
def test_tensorflow_imported_after_the_package_is_silent_with_onednn_on():
    plain = _stderr_of("import tensorflow")
    if "oneDNN" not in plain:
        pytest.skip("this TensorFlow build prints no oneDNN notice (nothing to hide)")
    quiet = _stderr_of(
        "import dropoutcourse, keras, tensorflow as tf, os\n"
        "assert float(tf.reduce_sum(tf.ones((2, 2)))) == 4.0\n"
        "os.write(2, b'after')\n"
    )
    assert quiet == "after"  # the notice is gone, and fd 2 works again after the import


def test_silenced_stderr_fd_restores_the_descriptor(capfd):
    from dropoutcourse._quiet_tf import silenced_stderr_fd

    with silenced_stderr_fd():
        os.write(2, b"hidden")
    os.write(2, b"shown")
    assert capfd.readouterr().err == "shown"
