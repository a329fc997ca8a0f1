"""Models of submissions."""

from .attachments import Attachment, AttachmentText
from .submissions import Submission

__all__ = ["Attachment", "AttachmentText", "Submission"]
