/* A Worklight JavaScript adapter, as Worklight's adapter template wrote it. */
function getStories(interest) {
	var path = 'rss/edition' + (interest ? '_' + interest : '') + '.rss';
	WL.Logger.info('getStories: ' + path);
	return WL.Server.invokeHttp({
		method: 'get',
		returnedContentType: 'xml',
		path: path,
		transformation: {type: 'xslFile', xslFile: 'filtered.xsl'}
	});
}

function echo(value) {
	return {value: value, user: WL.Server.getActiveUser()};
}
