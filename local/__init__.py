"""The embedded local stack: AWS on loopback (moto), an eSMS simulator, and the event sources.

The functions' shared package lives in the common layer (layers/common), which Lambda puts on the
path; the stack and its simulator use it too, so it goes on the path here as well.
"""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "common")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
