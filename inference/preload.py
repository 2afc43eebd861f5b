"""Load Triton's LLVM before any OpenGL context exists.

Triton (pulled in by torch._dynamo, which torchvision.ops imports) bundles its own LLVM. If
Mesa's llvmpipe (the software OpenGL under Xvfb and on many desktops) has already loaded the
system's LLVM, binding Triton afterwards crashes the process. Loaded first, each keeps its own.
The GUI calls this before it creates a window.
"""

from __future__ import annotations

import importlib.util


def preload_before_gl() -> bool:
    """Import triton if it is installed (about 0.2 s); True when it was loaded."""
    if importlib.util.find_spec("triton") is None:
        return False
    try:
        import triton  # noqa: F401
    except Exception:  # a broken triton install must not stop the viewer; torch will say why
        return False
    return True
