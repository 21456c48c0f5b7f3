"""Colours and sizes shared by the style sheet and the painted delegates.

The style sheet in resources/style.qss uses the same colours; keep both in step.
"""

from PySide6.QtGui import QColor

ACCENT = QColor("#2b5fa8")
ACCENT_SOFT = QColor("#e4ecf7")
TEXT = QColor("#1f2328")
TEXT_MUTED = QColor("#5c6570")
BORDER = QColor("#d9dde3")
SIDEBAR = QColor("#f3f4f6")
SELECTION = QColor("#dbe5f3")
BADGE = QColor("#6b7480")
HIGHLIGHT_BADGE = QColor("#c4392d")
INVITE = QColor("#a86b00")
QUESTION = QColor("#7048a8")
ANNOUNCEMENT = QColor("#b0541a")
ERROR = QColor("#b3261e")

# Background colours of initials avatars, picked by a hash of the user id.
AVATAR_COLOURS = (
    "#2b5fa8",
    "#3f7f5f",
    "#8a4f9e",
    "#b0541a",
    "#1f7a8c",
    "#9e3d5a",
    "#5a6b2f",
    "#6b5b95",
)
