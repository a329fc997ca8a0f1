"""Lesson content: Markdown and PDF text, lesson passages, PDF documents."""
