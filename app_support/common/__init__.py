"""What every page shares: URL settings and teachers' locks (`state`), image inputs (`inputs`),
pictures and clickable pictures (`render`, `clickable`), charts, run handles (`runs`), the model a page
explains (`model_source`, `model_views`), the lesson banner (`lesson_view`), and the server's boot and
compatibility checks (`boot`, `compat`). Imports no page's room."""
