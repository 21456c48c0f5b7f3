"""Icons, the style sheet and the desktop entry, installed as commonplace_resources."""
