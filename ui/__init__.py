"""The browser chat (Gradio), mounted by the API at ``/ui``."""
