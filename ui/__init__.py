"""The Qt desktop interface: windows, dialogs and item models over app/."""
