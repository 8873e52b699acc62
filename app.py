"""TextGAN Lab's Space entry: `python app.py` serves the app on 0.0.0.0:7860 (GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT override; the README lists every variable the app reads). The app itself is the package
`textgan.app` (`python -m textgan serve` runs the same); tests import `build_demo` from here or from there."""

from textgan import lab as L
from textgan.app.main import build_demo, serve

demo = build_demo(L.Lab.from_env())

if __name__ == "__main__":
    serve(demo)
