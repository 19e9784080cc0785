"""Motion: phones and prosody -> ARKit channel curves, head rotation, blinks, gaze; key reduction."""
