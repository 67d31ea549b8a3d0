"""Generate a deterministic corpus of synthetic posts for the build benchmarks.

Writes N posts (default 10,000) across C categories (default 50) into
``DIR/posts/``, Hexo-style: YAML front matter (title, date, categories,
tags, author, ``headimg`` on some) before a 3-5 KB Markdown body of mixed
Chinese and English text with headings, lists, links (absolute and
relative) and raw HTML. Dates spread over 2019-2025, written as RFC 2822,
ISO 8601 with an offset, or naive ``YYYY-MM-DD HH:MM:SS`` (read in
``site.timezone``). One post in ten is a ``.txt`` file in the exact shape
of the SPEC's seed post (a blank line before the opening ``---``).

Beside the posts it writes ``DIR/config.yaml`` (formats atom + rss, limit
configurable) and ``DIR/config-full.yaml`` (``limit: 0``, its own output
and state), so both build cases run on the same files. With ``--hugo HDIR``
it also writes the same posts as a Hugo site (RSS for the home page and for
every category term, full content, same limit) plus ``hugo-full.yaml``
(every post in every feed) for the side-by-side comparison of issue 5.

The same arguments always give byte-identical files.

Usage::

    python bench/gen_posts.py [DIR] [--posts 10000] [--categories 50]
        [--limit 20] [--seed 1] [--hugo HDIR]

DIR defaults to ``bench/out/corpus``; an existing ``DIR/posts`` is replaced.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = HERE / "out" / "corpus"

CATEGORY_NAMES = (
    "金融", "科技", "体育", "财经", "资讯", "中证网", "教育", "健康", "旅游", "美食",
    "文化", "汽车", "房产", "娱乐", "国际", "社会", "历史", "读书", "摄影", "音乐",
    "电影", "游戏", "法律", "环境", "农业",
    "Python", "Rust", "Go", "JavaScript", "Databases", "Machine Learning", "DevOps",
    "Security", "Linux", "Open Source", "Web", "Mobile", "Cloud", "Networking", "Design",
    "Career", "Startups", "Science", "Space", "Climate", "Hardware", "Writing",
    "Productivity", "Data", "Economics",
)  # fmt: skip


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


EN_WORDS = _words(
    "the of and to in is for on that with as by from at this are be it an or which was "
    "system feed reader data build cache server client request response update model store "
    "query index parser render markdown category author release version network latency "
    "memory thread process queue schedule deploy config value record stream buffer module "
    "package library function method object signal event error retry timeout backoff "
    "growth market policy bank credit loan rate yield report quarter revenue profit city "
    "river bridge school student teacher museum garden coffee train airport weather storm "
    "energy solar battery carbon forest ocean planet orbit rocket sensor camera engine "
    "simple fast steady careful quiet bright modern early late local global public open "
    "small large new old better faster clear strong common typical stable portable secure "
    "measure compare improve reduce publish review explain design test ship write read"
)

ZH_WORDS = _words(
    "我们 今年 金融 活水 精准 滴灌 小微企业 信贷 服务 水平 银行 客户 经理 贷款 余额 增长 "
    "市场 政策 支持 发展 创新 产品 科技 赋能 团队 建设 管理 风险 控制 经济 地方 企业 "
    "城市 交通 天气 教育 学校 学生 老师 医院 健康 文化 历史 博物馆 旅游 景区 美食 "
    "数据 系统 软件 开发 开源 社区 网络 安全 服务器 数据库 模型 算法 性能 优化 测试 "
    "发布 版本 用户 体验 设计 工程师 项目 计划 目标 成果 报告 季度 收入 利润 增幅 "
    "农业 种苗 樱桃 果农 资金 采购 渠道 机制 框架 条线 机构 专营 流程 标准化 线上化 "
    "进一步 持续 不断 显著 全面 有效 稳定 快速 深入 积极 充分 主要 重要 新的 更多"
)

AUTHORS = (
    "中证网", "编辑部", "王珞", "李明", "张伟", "Alice Chen", "Bob Smith",
    "Carol Wu", "Dmitri Ivanov", "Eve Martin", "刘洋", "陈静",
)  # fmt: skip

TAGS = (
    "小微", "贷款", "开源", "性能", "python", "rust", "tutorial", "news", "analysis",
    "interview", "guide", "release", "benchmark", "政策", "市场", "数据", "城市", "科普",
    "review", "opinion", "howto", "weekly", "月报", "专题",
)  # fmt: skip

SHANGHAI = timezone(timedelta(hours=8))
START = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 7 * 365 * 24 * 3600  # 2019..2025, all in the past


@dataclass(frozen=True, slots=True)
class Post:
    """One synthetic post, rendered into both the Hexo and the Hugo layout."""

    number: int
    title: str
    date: datetime  # aware UTC
    date_style: int  # 0 RFC 2822, 1 ISO with offset, 2 naive local
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author: str
    headimg: str | None
    body: str
    txt: bool  # written as a .txt file in the seed post's shape

    @property
    def stem(self) -> str:
        return f"post-{self.number:05d}"

    @property
    def folder(self) -> str:
        return str(self.date.year)


def category_names(count: int) -> list[str]:
    names = list(CATEGORY_NAMES[:count])
    names.extend(f"Topic {i}" for i in range(len(names), count))
    return names


def sentence(rng: random.Random, chinese: bool) -> str:
    if chinese:
        words = [rng.choice(ZH_WORDS) for _ in range(rng.randint(6, 14))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), rng.choice(EN_WORDS))
        return "".join(words) + rng.choice("。。。！？")
    words = [rng.choice(EN_WORDS) for _ in range(rng.randint(8, 18))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(ZH_WORDS))
    return " ".join(words).capitalize() + "."


def _inline(rng: random.Random, text: str, total: int) -> str:
    """Decorate a paragraph with emphasis, code and links, some of them relative."""
    roll = rng.random()
    if roll < 0.25:
        other = rng.randrange(total)
        return f"{text} 参见 [related post {other}](/{2019 + other % 7}/post-{other:05d}/)."
    if roll < 0.45:
        return f"{text} See [the source](https://example.org/{rng.choice(EN_WORDS)}/{rng.randrange(10**6)})."
    if roll < 0.55:
        return f"{text} ![图](../images/{rng.randrange(500)}.png)"
    if roll < 0.7:
        return f"**{rng.choice(ZH_WORDS)}** {text} `{rng.choice(EN_WORDS)}()`"
    return text


def _paragraph(rng: random.Random, total: int) -> str:
    chinese = rng.random() < 0.55
    text = ("" if chinese else " ").join(sentence(rng, chinese) for _ in range(rng.randint(2, 5)))
    return _inline(rng, text.strip(), total)


def _block(rng: random.Random, total: int) -> str:
    roll = rng.random()
    if roll < 0.12:
        return "## " + " ".join(rng.choice(ZH_WORDS + EN_WORDS) for _ in range(rng.randint(2, 5)))
    if roll < 0.22:
        marker = "-" if rng.random() < 0.6 else "1."
        items = [f"{marker} {sentence(rng, rng.random() < 0.5)}" for _ in range(rng.randint(3, 6))]
        return "\n".join(items)
    if roll < 0.28:
        return (
            f'<div class="note">\n<p style="text-indent: 2em;">{sentence(rng, True)}</p>\n'
            f'<p><a href="/tags/{rng.choice(TAGS)}/">{rng.choice(TAGS)}</a></p>\n</div>'
        )
    if roll < 0.32:
        return (
            f'<figure><img src="/images/{rng.randrange(900)}.jpg" alt="{rng.choice(ZH_WORDS)}">'
            f"<figcaption>{sentence(rng, False)}</figcaption></figure>"
        )
    if roll < 0.35:
        code = "\n".join(
            f"{rng.choice(EN_WORDS)} = {rng.randrange(1000)}" for _ in range(rng.randint(2, 5))
        )
        return f"```python\n{code}\n```"
    if roll < 0.38:
        return "> " + sentence(rng, rng.random() < 0.5)
    return _paragraph(rng, total)


def _body(rng: random.Random, total: int) -> str:
    target = rng.randint(3000, 5000)
    blocks = [_paragraph(rng, total)]
    if rng.random() < 0.3:
        blocks.append("<!-- more -->")
    size = len(blocks[0].encode())
    while size < target:
        block = _block(rng, total)
        blocks.append(block)
        size += len(block.encode()) + 2
    return "\n\n".join(blocks) + "\n"


def make_posts(count: int, categories: int, seed: int) -> list[Post]:
    rng = random.Random(seed)
    names = category_names(categories)
    posts: list[Post] = []
    for n in range(count):
        date = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        k = rng.choice((1, 1, 2, 2, 2, 3))
        posts.append(
            Post(
                number=n,
                title=(
                    "".join(rng.choice(ZH_WORDS) for _ in range(rng.randint(3, 6)))
                    + f" {rng.choice(EN_WORDS)} {n}"
                ),
                date=date,
                date_style=rng.randrange(3),
                categories=tuple(rng.sample(names, k)),
                tags=tuple(rng.sample(TAGS, rng.randint(1, 4))),
                author=rng.choice(AUTHORS),
                headimg=(
                    f"https://picsum.photos/400/300?random={rng.randrange(10000)}"
                    if rng.random() < 0.3
                    else None
                ),
                body=_body(rng, count),
                txt=n % 10 == 7,
            )
        )
    return posts


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _hexo_date(post: Post) -> str:
    if post.date_style == 0:
        return format_datetime(post.date, usegmt=True)
    local = post.date.astimezone(SHANGHAI)
    if post.date_style == 1:
        return local.isoformat()
    return local.strftime("%Y-%m-%d %H:%M:%S")


def hexo_text(post: Post) -> str:
    lines = ["---"] if not post.txt else ["", "---"]
    lines.append(f"title: {_quote(post.title)}")
    lines.append("categories: ")
    lines.extend(f" - {_quote(c)}" for c in post.categories)
    lines.append("tags: [" + ", ".join(_quote(t) for t in post.tags) + "]")
    if post.headimg:
        lines.append(f"headimg: {_quote(post.headimg)}")
    lines.append(f"author: {post.author}")
    lines.append("comments: false")
    lines.append(f"date: {_hexo_date(post)}")
    if post.headimg and post.txt:
        lines.append(f"thumbnail: {_quote(post.headimg)}")
    lines.append("---")
    return "\n".join(lines) + "\n\n" + post.body


def hugo_text(post: Post) -> str:
    lines = ["---", f"title: {_quote(post.title)}"]
    lines.append(f"date: {post.date.astimezone(SHANGHAI).isoformat()}")
    lines.append("categories: [" + ", ".join(_quote(c) for c in post.categories) + "]")
    lines.append("tags: [" + ", ".join(_quote(t) for t in post.tags) + "]")
    lines.append(f"author: {_quote(post.author)}")
    if post.headimg:
        lines.append(f"images: [{_quote(post.headimg)}]")
    lines.append(f"slug: {post.stem}")
    # Listed (so it reaches the feeds) but never rendered to disk: feeds against feeds.
    lines.extend(("_build:", "  render: never", "  list: always"))
    lines.append("---")
    return "\n".join(lines) + "\n\n" + post.body


def feedwright_config(limit: int, output: str, state: str) -> str:
    return f"""# Generated by bench/gen_posts.py: the build benchmark's corpus.
site:
  title: 基准测试 Bench
  url: https://news.example.com/
  description: Synthetic posts for the feedwright build benchmark
  author: 编辑部
  language: zh-CN
  timezone: Asia/Shanghai

sources:
  - posts: posts
    permalink: "{{year}}/{{month}}/{{day}}/{{slug}}/"

output:
  dir: {output}
  formats: [atom, rss]
  limit: {limit}
  content: full

state: {state}
"""


# Hugo 0.111 (Debian bookworm) reads ``rssLimit``; newer releases read
# ``services.rss.limit``. Both are written so either version obeys the limit.
def hugo_config(limit: int) -> str:
    return f"""# Generated by bench/gen_posts.py: RSS for home + every category term, full content.
baseURL: https://news.example.com/
languageCode: zh-CN
title: 基准测试 Bench
timeZone: Asia/Shanghai
rssLimit: {limit}
services:
  rss:
    limit: {limit}
disableKinds: [section, taxonomy, sitemap, robotsTXT, "404"]
ignoreErrors: [error-disable-taxonomy]
taxonomies:
  category: categories
outputs:
  home: [rss]
  term: [rss]
  page: [html]
markup:
  goldmark:
    renderer:
      unsafe: true
"""


HUGO_INDEX = """---
title: 基准测试 Bench
---
"""


# Hugo's own RSS template of that era, with .Content instead of .Summary.
HUGO_RSS = """{{- $pages := .RegularPages -}}
{{- if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end -}}
{{- $limit := .Site.Config.Services.RSS.Limit -}}
{{- if ge $limit 1 -}}{{- $pages = $pages | first $limit -}}{{- end -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\" standalone=\\"yes\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ .Site.Title }}</title>
    <link>{{ .Permalink }}</link>
    <description>Recent content on {{ .Site.Title }}</description>
    <language>{{ site.LanguageCode }}</language>
    {{- if not .Date.IsZero }}
    <lastBuildDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</lastBuildDate>
    {{- end }}
    {{- with .OutputFormats.Get "RSS" }}
    {{ printf "<atom:link href=%q rel=\\"self\\" type=%q />" .Permalink .MediaType | safeHTML }}
    {{- end }}
    {{- range $pages }}
    <item>
      <title>{{ .Title }}</title>
      <link>{{ .Permalink }}</link>
      <pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
      <guid>{{ .Permalink }}</guid>
      <description>{{ .Content | html }}</description>
    </item>
    {{- end }}
  </channel>
</rss>
"""


def _fresh(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def write_corpus(posts: list[Post], out: Path, limit: int) -> None:
    posts_dir = out / "posts"
    _fresh(posts_dir)
    for post in posts:
        folder = posts_dir / post.folder
        folder.mkdir(exist_ok=True)
        name = post.stem + (".txt" if post.txt else ".md")
        (folder / name).write_text(hexo_text(post), encoding="utf-8")
    (out / "config.yaml").write_text(
        feedwright_config(limit, "public", ".feedwright/state.db"), encoding="utf-8"
    )
    (out / "config-full.yaml").write_text(
        feedwright_config(0, "public-full", ".feedwright-full/state.db"), encoding="utf-8"
    )


def write_hugo(posts: list[Post], out: Path, limit: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    content = out / "content"
    _fresh(content)
    (content / "_index.md").write_text(HUGO_INDEX, encoding="utf-8")
    for post in posts:
        folder = content / "posts" / post.folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{post.stem}.md").write_text(hugo_text(post), encoding="utf-8")
    layouts = out / "layouts" / "_default"
    layouts.mkdir(parents=True, exist_ok=True)
    (layouts / "rss.xml").write_text(HUGO_RSS, encoding="utf-8")
    (out / "hugo.yaml").write_text(hugo_config(limit), encoding="utf-8")
    (out / "hugo-full.yaml").write_text(hugo_config(-1), encoding="utf-8")


def generate(
    out: Path,
    *,
    posts: int = 10_000,
    categories: int = 50,
    limit: int = 20,
    seed: int = 1,
    hugo: Path | None = None,
) -> list[Post]:
    """Write the corpus (and the Hugo copy if asked); return the posts written."""
    made = make_posts(posts, categories, seed)
    out.mkdir(parents=True, exist_ok=True)
    write_corpus(made, out, limit)
    if hugo is not None:
        write_hugo(made, hugo, limit)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hugo", type=Path, default=None, help="also write a Hugo site here")
    args = parser.parse_args(argv)
    made = generate(
        args.dir,
        posts=args.posts,
        categories=args.categories,
        limit=args.limit,
        seed=args.seed,
        hugo=args.hugo,
    )
    size = sum(len(hexo_text(p).encode()) for p in made)
    print(
        f"{len(made)} posts, {args.categories} categories, {size / 1e6:.1f} MB -> {args.dir}"
        + (f" (Hugo site: {args.hugo})" if args.hugo else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
