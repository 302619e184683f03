"""A minimal Hugo site over the benchmark corpus: the blog-only reference row.

Everything is written here, no theme is downloaded: a config, a handful of layouts that
render what postpipe's blog build renders (a page per post, paginated index, tag and
category pages, one RSS feed of the site, a sitemap and a 404 page), and the postpipe
corpus converted to Hugo content. Hugo renders Markdown with goldmark (tables, footnotes
and typographic quotes on by default, like postpipe's extensions).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

CONFIG = """\
baseURL = "https://bench.example.org/"
languageCode = "en"
title = "Benchmark"
timeZone = "Europe/Stockholm"
buildFuture = true
paginate = 10
disableKinds = ["robotsTXT"]

[taxonomies]
  tag = "tags"
  category = "categories"

[permalinks]
  posts = "/:slug/"

# one feed for the site, like postpipe's feed.xml; tag pages without feeds
[outputs]
  home = ["HTML", "RSS"]
  section = ["HTML"]
  taxonomy = ["HTML"]
  term = ["HTML"]
"""

BASEOF = """\
<!doctype html>
<html lang="{{ .Site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if .IsHome }}{{ .Site.Title }}{{ else }}{{ .Title }} – {{ .Site.Title }}{{ end }}</title>
<link rel="canonical" href="{{ .Permalink }}">
<link rel="alternate" type="application/rss+xml" href="{{ "index.xml" | absURL }}">
<link rel="stylesheet" href="{{ "style.css" | relURL }}">
</head>
<body>
<header><a href="{{ "/" | relURL }}">{{ .Site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
"""

SINGLE = """\
{{ define "main" }}
<article lang="{{ .Params.lang }}">
  <h1>{{ .Title }}</h1>
  <p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">
    {{- .Date.Format "2 January 2006" }}</time>
  {{ with .Params.event }} · {{ .name }}, {{ .location }}{{ end }}</p>
  {{ with .Params.image }}<img src="{{ . | relURL }}" alt="{{ $.Params.image_alt }}">{{ end }}
  {{ with .Params.speakers }}<ul>
    {{- range . }}<li>{{ .name }} ({{ .affiliation }}): {{ .talk }}</li>{{ end -}}
  </ul>{{ end }}
  {{ .Content }}
  <ul>{{ range .GetTerms "tags" -}}
    <li><a href="{{ .RelPermalink }}" rel="tag">{{ .LinkTitle }}</a></li>
  {{- end }}</ul>
</article>
{{ end }}
"""

LIST = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $pages := .RegularPages }}{{ if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end }}
{{ $pager := .Paginate $pages }}
{{ range $pager.Pages }}
<article>
  <h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
  <p><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2 January 2006" }}</time></p>
  <p>{{ .Params.summary }}</p>
  <ul>{{ range .GetTerms "tags" -}}
    <li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>
  {{- end }}</ul>
</article>
{{ end }}
{{ with $pager.Prev }}<a href="{{ .URL }}" rel="prev">Newer</a>{{ end }}
{{ with $pager.Next }}<a href="{{ .URL }}" rel="next">Older</a>{{ end }}
{{ end }}
"""

TERMS = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.ByCount -}}
  <li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>
{{- end }}</ul>
{{ end }}
"""

NOT_FOUND = """\
{{ define "main" }}<h1>Page not found</h1><p><a href="{{ "/" | relURL }}">Home</a></p>{{ end }}
"""

LAYOUTS = {
    "_default/baseof.html": BASEOF,
    "_default/single.html": SINGLE,
    "_default/list.html": LIST,
    "_default/terms.html": TERMS,
    "index.html": LIST,
    "404.html": NOT_FOUND,
}

# postpipe writes "date: 2016-01-02 08:00", which Hugo silently reads as no date at all
_DATE = re.compile(r"^date: (\d{4}-\d\d-\d\d) (\d\d:\d\d)$", re.MULTILINE)


def to_hugo(text: str) -> str:
    """One postpipe post as Hugo content: an ISO date, and images served from the site root.

    Every other front matter key (event, speakers, newsletter, ...) is kept: Hugo keeps
    keys it does not know as page params, and the layouts read some of them.
    """
    front, sep, body = text[4:].partition("\n---\n")
    if not text.startswith("---\n") or not sep:
        raise ValueError("a post without YAML front matter")
    front, n = _DATE.subn(r"date: \1T\2:00", front, count=1)
    if n != 1:
        raise ValueError("a post without 'date: YYYY-MM-DD HH:MM'")
    front = front.replace("\nimage: images/", "\nimage: /images/")
    return "---\n" + front + sep + body.replace("](images/", "](/images/")


def write_site(posts: Path, out: Path, stylesheet: Path | None = None) -> None:
    """The Hugo site for the postpipe posts in ``posts`` (with their ``images/``) at ``out``."""
    (out / "content" / "posts").mkdir(parents=True)
    (out / "config.toml").write_text(CONFIG, encoding="utf-8")
    for name, text in LAYOUTS.items():
        path = out / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    shutil.copytree(posts / "images", out / "static" / "images")
    if stylesheet is not None and stylesheet.is_file():
        shutil.copyfile(stylesheet, out / "static" / "style.css")
    for post in sorted(posts.glob("*.md")):
        text = to_hugo(post.read_text(encoding="utf-8"))
        (out / "content" / "posts" / post.name).write_text(text, encoding="utf-8")


def version(hugo: str) -> str:
    """``hugo version``'s first words, e.g. ``hugo v0.111.3+extended``."""
    out = subprocess.run([hugo, "version"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split()[:2])
