"""Every URL pattern of the project, with made-up arguments, for meta-tests."""

import uuid

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLE_BY_CONVERTER = {
    "IntConverter": "987654",
    "StringConverter": "sample",
    "SlugConverter": "sample-slug",
    "UUIDConverter": str(uuid.UUID(int=7)),
    "PathConverter": "sample/path",
}


def _walk(resolver: URLResolver, prefix: str = "", converters=None):
    converters = dict(converters or {})
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        route = getattr(pattern, "_route", None)
        if route is None:
            raise AssertionError(f"regex URL pattern {pattern!r}: use path() so it can be walked")
        local_converters = {**converters, **pattern.converters}
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + route, local_converters)
        elif isinstance(entry, URLPattern):
            yield entry, prefix + route, local_converters


def all_urls():
    """Yield (name, concrete_path, view callback) for every pattern."""
    for entry, route, converters in _walk(get_resolver()):
        path = route
        for name, converter in converters.items():
            sample = SAMPLE_BY_CONVERTER[type(converter).__name__]
            for form in (f"<{type(converter).__name__}:{name}>",):
                path = path.replace(form, sample)
            # the route text names converters by their registered key (int, slug...)
            for key in ("int", "str", "slug", "uuid", "path"):
                path = path.replace(f"<{key}:{name}>", sample)
            path = path.replace(f"<{name}>", sample)
        yield entry.name, "/" + path, entry.callback
