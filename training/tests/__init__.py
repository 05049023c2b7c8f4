import os
import sys

_TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TRAINING not in sys.path:
    sys.path.insert(0, _TRAINING)
