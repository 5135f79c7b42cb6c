"""What the cell looks like, from the camera: named objects with positions and sizes."""
