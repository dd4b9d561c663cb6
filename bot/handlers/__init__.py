"""One module per feature, each exporting its HANDLERS (and BUTTONS for inline buttons)."""
