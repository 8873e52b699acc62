"""TextGAN Lab: text GANs in PyTorch.

Nothing happens at import time: no device probing, no file access, no heavy optional imports.
"""

__version__ = "0.1.0"
