"""What each task of a .ibert file does on top of the integer forward pass (pyibert.Model delegates here)."""
