"""The 52 ARKit blendshape names (Apple ARFaceAnchor.BlendShapeLocation), in Live Link Face order."""

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawRight", "jawLeft", "jawOpen", "mouthClose",
    "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
assert len(ARKIT_NAMES) == 52

HEAD_AXES: tuple[str, ...] = ("pitch", "yaw", "roll")
"""Head rotation channels in degrees: pitch + looks down, yaw + turns to the character's left, roll + tilts
toward the character's left shoulder (ARKit / Live Link Face HeadPitch, HeadYaw, HeadRoll)."""


def region_of(channel: str) -> str:
    """Editing group for a channel (Dope Sheet groups in Blender): Mouth, Jaw, Eyes, Brows, Cheeks, Head."""
    if channel in HEAD_AXES:
        return "Head"
    if channel.startswith("jaw"):
        return "Jaw"
    if channel.startswith("eye"):
        return "Eyes"
    if channel.startswith("brow"):
        return "Brows"
    if channel.startswith(("cheek", "nose")):
        return "Cheeks"
    return "Mouth"
