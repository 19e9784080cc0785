"""Stage 2: the portrait photo warped by the face rig's motion into a talking-head video (no learned weights)."""
