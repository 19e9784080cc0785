"""MediaPipe 0.10.21 on protobuf 6 (the version Ray needs): its compiled graph code still calls
``MessageFactory.GetPrototype``, which protobuf 5 removed in favour of ``message_factory.GetMessageClass``.
Without the method every graph run prints an AttributeError to stderr (the landmarks still come out). Putting
the one method back, as protobuf's own migration note maps it, changes nothing else."""

from __future__ import annotations


def restore_get_prototype() -> None:
    """Call before mediapipe is imported (it looks the method up as it loads)."""
    from google.protobuf import message_factory

    if not hasattr(message_factory.MessageFactory, "GetPrototype"):
        def get_prototype(_factory, descriptor):
            return message_factory.GetMessageClass(descriptor)

        message_factory.MessageFactory.GetPrototype = get_prototype
