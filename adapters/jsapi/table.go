package jsapi

import (
	"slices"
	"strings"
)

// Status says whether Realmgate's JavaScript runtime offers a server API.
type Status int

// Statuses of a server API.
const (
	// Supported: the runtime maps the API onto what the host offers.
	Supported Status = iota + 1
	// Refused: an adapter that uses the API does not load; Support.Reason says why.
	Refused
)

func (s Status) String() string {
	switch s {
	case Supported:
		return "supported"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Support is the status of one server API, with the reason when it is refused.
type Support struct {
	// API is the name a script uses: "WL.Server.invokeHttp", "WL.Logger.info"; for the
	// families that have no single name, one of the Family* names below.
	API    string
	Status Status
	// Reason says why a refused API is not run, for the team that wrote the adapter.
	Reason string
	// Fix says what to do instead, when there is something to say.
	Fix string
	// Limit says, of a supported API, what the runtime does not do as Worklight did.
	Limit string
}

// Names of the uses that are families rather than one API.
const (
	// FamilyJava is a call into Java (java.*, javax.*, com.*, Packages.*, importPackage, ...).
	FamilyJava = "Java"
	// FamilyXSL is an invokeHttp transformation of type xslFile, with a stylesheet other than
	// Worklight's stock filtered.xsl (or one not known yet: see Report.ResolveXSL).
	FamilyXSL = "WL.Server.invokeHttp transformation xslFile"
	// FamilyStockXSL is an invokeHttp transformation with Worklight's stock filtered.xsl.
	FamilyStockXSL = "WL.Server.invokeHttp transformation xslFile (Worklight's stock filtered.xsl)"
	// FamilyDynamic is a computed member of WL, WL.Server or WL.Logger (WL.Server[name]).
	FamilyDynamic = "computed WL member"
)

// Reasons shared by several entries of the table.
const (
	limitSQL          = "the data source is the adapter XML's <dataSourceDefinition> (jdbc:postgresql:, jdbc:mysql: or jdbc:sqlite:; DB2, SQL Server and Oracle are refused at load) or a <dataSourceJNDIName> that hostd.yaml's dataSources maps; values are bound parameters (? placeholders only, one statement per call), a result has at most 1000 rows, and the call's deadline cuts the statement"
	limitSQLStatement = "only at the script's top level, as Worklight required: a call inside a function is a load error, and a statement created during a call fails the call"
	limitSQLProcedure = "MySQL: CALL name(...); PostgreSQL: SELECT * FROM name(...); SQLite has none. " + limitSQL

	reasonPush = "push and SMS notifications need Worklight's notification service, which Realmgate does not have"
	fixPush    = "send notifications from a service of your own, called with WL.Server.invokeHttp"

	reasonJMS = "JMS needs a message broker connection, which the sandbox does not offer"
	fixJMS    = "reach the broker through an HTTP bridge called with WL.Server.invokeHttp"
)

// apiCreateSQLStatement is refused inside a function (sqlStatementInFunction): the text of a
// statement is fixed when the script loads, before any caller's data exists, so that no value
// a call receives reaches the database as SQL. Worklight required it too; every one of the
// corpus's 85 calls is at the top level.
const apiCreateSQLStatement = "WL.Server.createSQLStatement"

var sqlStatementInFunction = Support{API: apiCreateSQLStatement, Status: Refused,
	Reason: "it is called inside a function: Worklight ran createSQLStatement only at the script's top level, and a statement made during a call could carry the caller's data as SQL",
	Fix:    `create the statement at the top level (var byID = WL.Server.createSQLStatement("SELECT ... WHERE id = ?")) and pass the values as parameters of invokeSQLStatement`}

// table is the one place that says which server APIs the JavaScript runtime runs. A name that is
// not here is refused by Classify with a reason that says so.
var table = []Support{
	{API: "WL.Server.invokeHttp", Status: Supported},
	{API: "WL.Server.setActiveUser", Status: Supported},
	{API: "WL.Server.getActiveUser", Status: Supported},
	{API: "WL.Server.getClientRequest", Status: Supported,
		Limit: "read only; the daemon does not hand the client's HTTP headers to adapters, so getHeader answers null"},
	{API: "WL.Logger.debug", Status: Supported},
	{API: "WL.Logger.info", Status: Supported},
	{API: "WL.Logger.warn", Status: Supported},
	{API: "WL.Logger.error", Status: Supported},
	{API: "WL.Logger.log", Status: Supported},

	{API: "WL.Server.createSQLStatement", Status: Supported, Limit: limitSQLStatement},
	{API: "WL.Server.invokeSQLStatement", Status: Supported, Limit: limitSQL},
	{API: "WL.Server.invokeSQLStoredProcedure", Status: Supported, Limit: limitSQLProcedure},

	{API: "WL.Server.invokeProcedure", Status: Supported,
		Limit: "through the host: the called procedure's security test applies with the current session and never challenges (a test it does not pass answers isSuccessful: false naming the realm); at most 4 calls deep, no cycles"},
	// A Realmgate extension: the host PKI capability (sdk-wasm/ABI.md, "Host PKI").
	{API: "WL.Server.pki", Status: Supported,
		Limit: "a Realmgate extension; the adapter needs <capability name=\"pki\"> in its <backend>"},

	{API: "WL.Server.createEventSource", Status: Refused, Reason: "event sources poll a back end for push notifications, which Realmgate does not send", Fix: fixPush},
	{API: "WL.Server.createDefaultNotification", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.notifyAllDevices", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.notifyDevice", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.notifyDeviceSubscription", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.notifyDeviceToken", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.getUserNotificationSubscription", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.setEventHandlers", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.sendMessage", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.createSMSEventHandler", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.getSMSSubscription", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.subscribeSMS", Status: Refused, Reason: reasonPush, Fix: fixPush},
	{API: "WL.Server.unsubscribeSMS", Status: Refused, Reason: reasonPush, Fix: fixPush},

	{API: "WL.Server.readSingleJMSMessage", Status: Refused, Reason: reasonJMS, Fix: fixJMS},
	{API: "WL.Server.readAllJMSMessages", Status: Refused, Reason: reasonJMS, Fix: fixJMS},
	{API: "WL.Server.writeJMSMessage", Status: Refused, Reason: reasonJMS, Fix: fixJMS},
	{API: "WL.Server.requestReplyJMSMessage", Status: Refused, Reason: reasonJMS, Fix: fixJMS},

	{API: FamilyJava, Status: Refused,
		Reason: "there is no Java in the sandbox: Java classes cannot be called",
		Fix:    "call the service the Java code talks to with WL.Server.invokeHttp, or write the procedure as a wasm adapter"},
	{API: FamilyStockXSL, Status: Supported},
	{API: FamilyXSL, Status: Refused,
		Reason: "of XSL stylesheets, only Worklight's stock filtered.xsl (an RSS feed to {Items: [...]}) is applied",
		Fix:    "drop the transformation and shape the JSON that invokeHttp returns in JavaScript"},
	{API: FamilyDynamic, Status: Refused,
		Reason: "a computed member cannot be checked before the adapter runs",
		Fix:    "name the API: WL.Server.invokeHttp(...)"},
}

// Table returns every API the table names, supported ones first, each group in name order.
func Table() []Support {
	out := slices.Clone(table)
	slices.SortStableFunc(out, func(a, b Support) int {
		if a.Status != b.Status {
			return int(a.Status) - int(b.Status)
		}
		return strings.Compare(a.API, b.API)
	})
	return out
}

// Classify returns the status of an API a script uses. A name the table does not hold is
// refused: an API under WL that Realmgate does not know is one the runtime cannot offer.
func Classify(api string) Support {
	for _, s := range table {
		if s.API == api {
			return s
		}
	}
	switch {
	case strings.HasPrefix(api, "WL.Server."):
		return Support{API: api, Status: Refused,
			Reason: api + " is a Worklight server API that Realmgate's JavaScript runtime does not offer",
			Fix:    "use the supported APIs: " + strings.Join(supportedNames("WL.Server."), ", ")}
	case strings.HasPrefix(api, "WL.Logger."):
		return Support{API: api, Status: Refused,
			Reason: api + " is not a WL.Logger method Realmgate offers",
			Fix:    "use one of " + strings.Join(supportedNames("WL.Logger."), ", ")}
	}
	return Support{API: api, Status: Refused,
		Reason: api + " is not a server API Realmgate's JavaScript runtime offers",
		Fix:    "use WL.Server and WL.Logger only"}
}

// supportedNames lists the supported APIs whose names start with prefix.
func supportedNames(prefix string) []string {
	var out []string
	for _, s := range table {
		if s.Status == Supported && strings.HasPrefix(s.API, prefix) && !strings.Contains(s.API, " ") {
			out = append(out, s.API)
		}
	}
	slices.Sort(out)
	return out
}
