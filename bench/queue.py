"""`python bench/queue.py`: the training-queue benchmark of issue 15 (forty small runs at once, on each
backend), which lives in bench/training_queue.py.

This file's name is the standard library's `queue`, and a script run from bench/ has bench/ first on
its import path: anything it imports that imports `queue` (TensorFlow, the run manager) finds this
file. Imported that way, it hands over to the real module; run as a script, it runs the benchmark.
"""

import importlib
import os
import sys

if __name__ == "__main__":
    from training_queue import main

    main()
elif __name__ == "queue":  # not when a worker process re-reads this script as its __mp_main__
    _here = os.path.dirname(os.path.abspath(__file__))
    _path = sys.path[:]
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _here]
    try:
        del sys.modules[__name__]
        _real = importlib.import_module(__name__)  # the standard library's, found without bench/
    finally:
        sys.path[:] = _path
    sys.modules[__name__] = _real  # what `import queue` hands to whoever asked
