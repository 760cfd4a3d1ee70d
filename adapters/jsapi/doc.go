// Package jsapi reads a Worklight JavaScript adapter (adapters/<A>/<A>-impl.js) without running
// it, and says which of Worklight's server APIs it uses and whether Realmgate's JavaScript
// runtime offers each one: WL.Server.* (invokeHttp, invokeProcedure, setActiveUser, the SQL,
// notification and JMS APIs, ...), WL.Logger.*, calls into Java, and the XSL transformations of
// invokeHttp requests, each at its line and column.
//
// The script is parsed with goja's parser (parsing is not execution: no JavaScript runs in the
// process that checks it), and names are resolved as a reader would: WL.Server.invokeHttp,
// WL.Server["invokeHttp"], and simple aliases (var s = WL.Server; s.invokeHttp(...)).
//
// Which API is supported is decided in one place, the table behind Table and Classify, so that
// hostd check, the project loader and the runtime agree. A script that uses a refused API does
// not load; hostd check reports it at its file and line before anyone deploys it.
package jsapi
