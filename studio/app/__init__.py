"""The Gradio app, one module per tab: stylize.py, studio.py, hub.py (each: handlers, then `build` for its layout,
then `wire` for its events), and common.py for what they share. app.py composes them."""
