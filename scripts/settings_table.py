"""Print the README's settings table from assistant/core/settings.py (the single source of truth)."""

from pathlib import Path

from assistant.core.settings import Settings

print("| variable | default | what |")
print("|---|---|---|")
for name, field in Settings.model_fields.items():
    if field.default_factory is not None:
        made = field.default_factory()  # type: ignore[call-arg]
        default = str(made).replace(str(Path.home()), "~") if isinstance(made, Path) else "(none)"
    elif field.default is None:
        default = "(none)"
    elif hasattr(field.default, "relative_to"):
        default = f"{field.default.name}/ in the repository"
    else:
        default = field.default
    description = (field.description or "").replace("|", "\\|")
    print(f"| `ASSISTANT_{name.upper()}` | `{default}` | {description} |")
