<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:h="http://www.w3.org/1999/xhtml">
<xsl:output method="text"/>
<xsl:template match="/"> { 'Items': [ <xsl:for-each select="//item"> { 'title': '<xsl:value-of select="title"/>', 'guid': '<xsl:value-of select="guid"/>', 'link': '<xsl:value-of select="link"/>', 'description': '<xsl:value-of select="description"/>', 'pubDate': '<xsl:value-of select="pubDate"/>' }, </xsl:for-each> ] } </xsl:template>
</xsl:stylesheet>
