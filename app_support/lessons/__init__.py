"""Lessons: the teachers' link maker (`links`). The lesson banner every page shows is shared:
`app_support.common.lesson_view`."""
