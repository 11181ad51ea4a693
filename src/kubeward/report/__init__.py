"""Report writers. Each module has ``render(result, **options) -> str``."""

FORMATS = ("table", "json", "sarif", "junit")
