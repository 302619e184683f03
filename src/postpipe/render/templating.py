"""The Jinja2 environment: the site's ``templates/`` over the packaged defaults."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TemplateError

if TYPE_CHECKING:
    import jinja2

PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def make_env(root: Path, bytecode_dir: Path | None = None) -> jinja2.Environment:
    """One environment per build: ``root/templates`` overrides the package file by file.

    With ``bytecode_dir``, compiled templates are kept there between runs (Jinja
    checks the source, so an edited template is compiled again).
    """
    import jinja2  # imported when something is rendered, not for a no-op build

    loaders: list[jinja2.BaseLoader] = []
    site_templates = root / "templates"
    if site_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(site_templates)))
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(bytecode_dir) if bytecode_dir else None,
    )


def _bytecode_cache(folder: Path) -> jinja2.BytecodeCache | None:
    import jinja2

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only site still builds, only slower
    return jinja2.FileSystemBytecodeCache(str(folder))


def template_paths(root: Path) -> list[Path]:
    """Every template file that can affect output (site overrides and defaults)."""
    out = []
    for base in (root / "templates", PACKAGE_TEMPLATES):
        if base.is_dir():
            out.extend(sorted(p for p in base.rglob("*") if p.is_file()))
    return out


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render a template; any Jinja error becomes a TemplateError with file and line."""
    import jinja2

    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template syntax error: {exc.message}",
            path=exc.filename or exc.name or name,
            line=exc.lineno,
            hint="fix the template; see the Jinja2 documentation",
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            f"template '{exc.name}' not found", path=name, hint="check the name in extends/include"
        ) from None
    except (jinja2.UndefinedError, TypeError, ValueError, AttributeError) as exc:
        path, line = _template_frame(name)
        raise TemplateError(
            f"template error: {exc}",
            path=path,
            line=line,
            hint="the template uses a variable or value that does not exist; "
            "see the context documented in README",
        ) from None


def _template_frame(default: str) -> tuple[str, int | None]:
    tb = sys.exc_info()[2]
    found: tuple[str, int | None] = (default, None)
    for frame, lineno in traceback.walk_tb(tb):
        # Jinja rewrites the traceback: template lines appear as frames whose
        # code is compiled with the template's file name
        if "__jinja_template__" in frame.f_globals or "__jinja_exception__" in frame.f_globals:
            found = (frame.f_code.co_filename, lineno)
    return found
