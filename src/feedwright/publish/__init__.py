"""Publishing: entries in, Atom/RSS/JSON Feed/OPML files under ``output.dir`` out.

The sequence (serialising in ``serialise.py``, in worker processes when there
are many entries)::

    plan        which feeds exist (combined + one per category), which entries each gets
    skip        a feed whose inputs (its entries' digests, the settings) are what
                produced the files now on disk is not rendered or serialised at all
    prepare     render each entry that reaches a feed still to write, once however
                many feeds it is in; strip XML-illegal characters from every
                string (counted); percent-encode URLs
    serialise   each output file exactly once, to bytes: feedgen for Atom and RSS
                (``render_outputs`` stops here)
                beside each feed its page (``pages.py``, ``output.pages``); once,
                the XSLT stylesheet the Atom and RSS files name (``stylesheet.py``)
    write       every changed file of the build or none (``write.write_files``);
                unchanged bytes are left alone, stale files of ours removed

Layout under ``output.dir``::

    atom.xml  rss.xml  [feed.json]  [index.html]   the combined feed (and its page,
                                                   which lists every category's)
    <slug>/atom.xml  <slug>/rss.xml  [<slug>/feed.json]  [<slug>/index.html]
    index.opml                                     every published feed
    [feed.xsl]                                     output.stylesheet, with atom or rss

The stage itself is ``publisher.publish``; this package's ``__init__`` imports
nothing, so a build that finds nothing changed (it needs only ``write.py``'s
sweep of temp files and stamps) never loads the rest.
"""
