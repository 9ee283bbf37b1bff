"""The web pages: function views that call a selector or a service and render.

Split by page family: ``pipelines`` (list, create, overview, run), ``editor``,
``runs`` (history and detail), ``account`` (sign-in, tokens, secrets), ``errors``.
"""
