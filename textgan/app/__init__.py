"""The app's Gradio layer, one module per tab: `train_tab` (the form, the controls, the live plots), `compare_tab`
(comparing runs, "Train and compare"), `hub_tab` (push and pull); `main` composes them into one `gr.Blocks`.

Rules: wiring only. Every callback calls `textgan.lab` (the controller) and `textgan.plots` (the figures) and
nothing else of the engine; the engine never imports gradio (only this package does). Each builder returns a small
dataclass of the components other tabs may read or update, so a new panel is added in its own tab's module.
`app.py` (the Space's entry) and `python -m textgan serve` both call `main.serve`.
"""
