"""Remote feeds: fetch the bytes, parse them, normalise the entries.

::

    fetch.py      the Fetcher: conditional GET, redirects by hand, cookies for one
                  fetch, size caps, every status classified in one place
      send.py     which backend, to which address (proxies from the environment)
      guard.py    each host resolved once, checked (SSRF) and pinned
      aionet.py   httpcore on plain asyncio: the measured fast network backend
      wire.py     the body under a cap (Content-Encoding undone), Retry-After,
                  Cache-Control
      discover.py an HTML page's <link rel="alternate"> feed
    parse.py      bytes + headers -> ParsedFeed; feedparser is the parser of record
      fastfeed.py, fastfields.py   the measured lxml fast path for plain RSS 2.0/Atom 1.0
      fastpath.py                  its values sanitised exactly as feedparser's are
      jsonfeed.py                  JSON Feed 1.0/1.1
    normalize.py  raw entries -> model.Entry: ids, dates, links, authors,
                  categories, enclosures
    sanitize.py   untrusted HTML, URLs and text made safe to republish (nh3)

Nothing here touches the store: fetch gives bytes, parse gives entries.
"""
