"""Lesson content: Markdown and PDF text, lesson passages, stored files, PDF documents."""
