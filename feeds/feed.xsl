<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows a feed published by feedwright as a page; feed readers ignore it. -->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  exclude-result-prefixes="atom content">
<xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

<xsl:variable name="title" select="/atom:feed/atom:title | /rss/channel/title"/>
<xsl:variable name="about" select="/atom:feed/atom:subtitle | /rss/channel/description"/>
<xsl:variable name="self"
  select="/atom:feed/atom:link[@rel='self']/@href | /rss/channel/atom:link[@rel='self']/@href"/>
<xsl:variable name="lang" select="/atom:feed/@xml:lang | /rss/channel/language"/>

<xsl:template match="/">
<html>
<xsl:if test="$lang"><xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute></xsl:if>
<head>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title><xsl:value-of select="$title"/></title>
<style>
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--line:#d1d9e0;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--line:#3d444d;--accent:#4493f8}}
body{margin:0 auto;max-width:46rem;padding:1.5rem 1rem;color:var(--fg);background:var(--bg);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--accent)}
header{border-bottom:1px solid var(--line);padding-bottom:.5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
.note{border-left:4px solid var(--accent);padding:.5rem .75rem;margin:1rem 0}
.note p{margin:0 0 .25rem}
code{font-size:.875em;overflow-wrap:anywhere}
ul.formats,ul.feeds{list-style:none;padding:0;margin:.25rem 0}
ul.formats li{display:inline-block;margin-right:1.25rem}
ul.feeds li{padding:.2rem 0}
article{padding:.75rem 0;border-bottom:1px solid var(--line)}
article h2{font-size:1.15rem;margin:0 0 .2rem}
article p{margin:.25rem 0}
.meta,footer,.empty{color:var(--muted);font-size:.875rem}
footer{margin-top:1.5rem}
</style>
</head>
<body>
<header>
<h1><xsl:value-of select="$title"/></h1>
<xsl:if test="$about and string($about) != string($title)"><p><xsl:value-of select="$about"/></p></xsl:if>
<div class="note">
<p>This is a web feed. To subscribe, copy its address into your feed reader:</p>
<p><code><xsl:value-of select="$self"/></code></p>
<ul class="formats"><li><a href="atom.xml" type="application/atom+xml">Atom</a></li><li><a href="rss.xml" type="application/rss+xml">RSS</a></li><li><a href="index.html">Web page</a></li></ul>
</div>
</header>
<main>
<xsl:apply-templates select="/atom:feed/atom:entry | /rss/channel/item"/>
<xsl:if test="not(/atom:feed/atom:entry | /rss/channel/item)"><p class="empty">No entries yet.</p></xsl:if>
</main>
</body>
</html>
</xsl:template>

<xsl:template match="atom:entry | item">
<xsl:variable name="link"
  select="atom:link[not(@rel) or @rel='alternate']/@href | link"/>
<xsl:variable name="date" select="atom:published | atom:updated[not(../atom:published)] | pubDate"/>
<article>
<h2><xsl:choose>
<xsl:when test="$link"><a href="{$link}"><xsl:value-of select="atom:title | title"/></a></xsl:when>
<xsl:otherwise><xsl:value-of select="atom:title | title"/></xsl:otherwise>
</xsl:choose></h2>
<p class="meta"><xsl:choose>
<xsl:when test="atom:published | atom:updated"><time datetime="{$date}"><xsl:value-of select="substring($date, 1, 10)"/></time></xsl:when>
<xsl:otherwise><time><xsl:value-of select="substring($date, 6, 11)"/></time></xsl:otherwise>
</xsl:choose></p>
<xsl:variable name="html"
  select="(atom:summary | atom:content[not(../atom:summary)] | description | content:encoded[not(../description)])[1]"/>
<xsl:if test="normalize-space($html)">
<xsl:variable name="text">
<xsl:call-template name="untag"><xsl:with-param name="html" select="substring($html, 1, 2000)"/></xsl:call-template>
</xsl:variable>
<xsl:variable name="plain">
<xsl:call-template name="unescape"><xsl:with-param name="text" select="normalize-space($text)"/></xsl:call-template>
</xsl:variable>
<p><xsl:value-of select="substring($plain, 1, 300)"/><xsl:if test="string-length($plain) &gt; 300">…</xsl:if></p>
</xsl:if>
</article>
</xsl:template>

<!-- The text of an HTML fragment: tags removed, a space for those that break a line. -->
<xsl:template name="untag">
<xsl:param name="html"/>
<xsl:choose>
<xsl:when test="contains($html, '&lt;')">
<xsl:variable name="tag" select="translate(substring-before(substring-after($html, '&lt;'), '&gt;'), 'PBRLIHDVT', 'pbrlihdvt')"/>
<xsl:value-of select="substring-before($html, '&lt;')"/>
<xsl:if test="starts-with($tag, 'p') or starts-with($tag, '/p') or starts-with($tag, 'br') or starts-with($tag, 'li') or starts-with($tag, '/li') or starts-with($tag, 'h') or starts-with($tag, '/h') or starts-with($tag, 'div') or starts-with($tag, '/div') or starts-with($tag, 't') or starts-with($tag, '/t')"><xsl:text> </xsl:text></xsl:if>
<xsl:call-template name="untag">
<xsl:with-param name="html" select="substring-after(substring-after($html, '&lt;'), '&gt;')"/>
</xsl:call-template>
</xsl:when>
<xsl:otherwise><xsl:value-of select="$html"/></xsl:otherwise>
</xsl:choose>
</xsl:template>

<!-- The entities HTML text most often carries, decoded (&amp; last). -->
<xsl:template name="unescape">
<xsl:param name="text"/>
<xsl:variable name="a"><xsl:call-template name="replace"><xsl:with-param name="text" select="$text"/><xsl:with-param name="from" select="'&amp;lt;'"/><xsl:with-param name="to" select="'&lt;'"/></xsl:call-template></xsl:variable>
<xsl:variable name="b"><xsl:call-template name="replace"><xsl:with-param name="text" select="$a"/><xsl:with-param name="from" select="'&amp;gt;'"/><xsl:with-param name="to" select="'&gt;'"/></xsl:call-template></xsl:variable>
<xsl:variable name="c"><xsl:call-template name="replace"><xsl:with-param name="text" select="$b"/><xsl:with-param name="from" select="'&amp;quot;'"/><xsl:with-param name="to" select="'&quot;'"/></xsl:call-template></xsl:variable>
<xsl:variable name="d"><xsl:call-template name="replace"><xsl:with-param name="text" select="$c"/><xsl:with-param name="from" select='"&amp;#39;"'/><xsl:with-param name="to" select='"&apos;"'/></xsl:call-template></xsl:variable>
<xsl:variable name="e"><xsl:call-template name="replace"><xsl:with-param name="text" select="$d"/><xsl:with-param name="from" select="'&amp;nbsp;'"/><xsl:with-param name="to" select="'&#160;'"/></xsl:call-template></xsl:variable>
<xsl:call-template name="replace"><xsl:with-param name="text" select="$e"/><xsl:with-param name="from" select="'&amp;amp;'"/><xsl:with-param name="to" select="'&amp;'"/></xsl:call-template>
</xsl:template>

<xsl:template name="replace">
<xsl:param name="text"/><xsl:param name="from"/><xsl:param name="to"/>
<xsl:choose>
<xsl:when test="contains($text, $from)">
<xsl:value-of select="substring-before($text, $from)"/><xsl:value-of select="$to"/>
<xsl:call-template name="replace">
<xsl:with-param name="text" select="substring-after($text, $from)"/>
<xsl:with-param name="from" select="$from"/><xsl:with-param name="to" select="$to"/>
</xsl:call-template>
</xsl:when>
<xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
</xsl:choose>
</xsl:template>
</xsl:stylesheet>
