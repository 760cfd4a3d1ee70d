package jsapi_test

import (
	"fmt"

	"github.com/realmgate/realmgate/adapters/jsapi"
)

func ExampleScan() {
	src := `var server = WL.Server;

function getOrders(user) {
	WL.Logger.info("orders of " + user);
	return server.invokeHttp({method: 'get', path: '/orders/' + user});
}

function getStock() {
	var stmt = WL.Server.createSQLStatement("select * from stock");
	return WL.Server.invokeSQLStatement({preparedStatement: stmt, parameters: []});
}
`
	r, err := jsapi.Scan("Orders-impl.js", []byte(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range r.Uses {
		fmt.Printf("%s:%s: %s %s\n", r.File, u.Pos, u.API, u.Status)
	}
	fmt.Println(r.MissingFunctions([]string{"getOrders", "getStock", "getPrices"}))
	// Output:
	// Orders-impl.js:4:2: WL.Logger.info supported
	// Orders-impl.js:5:9: WL.Server.invokeHttp supported
	// Orders-impl.js:9:13: WL.Server.createSQLStatement refused
	// Orders-impl.js:10:9: WL.Server.invokeSQLStatement supported
	// [getPrices]
}
