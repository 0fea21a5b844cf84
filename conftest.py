"""Root pytest set-up, shared by tests/ and notebooks/: silence TensorFlow before any import.

nbval starts each notebook's kernel with this process's environment, so setting the
variables here keeps the notebooks' stderr clean too.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("PYTHONHASHSEED", "0")
