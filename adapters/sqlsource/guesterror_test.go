package sqlsource

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestGuestError: what the guest learns of a driver's error keeps the statement's code and the
// server's message, and nothing of the connection.
func TestGuestError(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"postgresql syntax", &pgconn.PgError{Severity: "ERROR", Code: "42601", Message: `syntax error at or near "x"`},
			`the statement failed: syntax error at or near "x" (SQLSTATE 42601)`},
		{"postgresql authentication", fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "28P01", Message: `password authentication failed for user "bhd"`}),
			"the data source could not be reached"},
		{"postgresql no database", &pgconn.PgError{Code: "3D000", Message: `database "bhd" does not exist`}, "the data source could not be reached"},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 5432}, Err: syscall.ECONNREFUSED},
			"the data source could not be reached"},
		{"mysql syntax", &mysql.MySQLError{Number: 1064, SQLState: [5]byte{'4', '2', '0', '0', '0'}, Message: "You have an error"},
			"the statement failed: Error 1064 (42000): You have an error"},
		{"mysql denied on a table", &mysql.MySQLError{Number: 1142, SQLState: [5]byte{'4', '2', '0', '0', '0'}, Message: "SELECT command denied to user 'bhd'@'10.0.0.7' for table `x`.`t`"},
			"the statement failed: Error 1142 (42000): SELECT command denied to user the data source's user for table `x`.`t`"},
		{"mysql access denied", &mysql.MySQLError{Number: 1045, Message: "Access denied for user 'bhd'@'10.0.0.7' (using password: YES)"},
			"the data source could not be reached"},
		{"mysql client", &mysql.MySQLError{Number: 2013, Message: "Lost connection to server at 10.0.0.5"}, "the data source could not be reached"},
		{"mysql invalid connection", mysql.ErrInvalidConn, "the data source could not be reached"},
		{"other", errors.New("failed to connect to `user=bhd database=bhd`: 10.0.0.5:5432 (db.internal): tls error"),
			"the statement failed: the database driver reported an error, which the host's log holds"},
	} {
		got := guestError(tt.err)
		if d := cmp.Diff(tt.want, got.Error()); d != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.name, d)
		}
		if tt.want == ErrUnreachable.Error() && !errors.Is(got, ErrUnreachable) {
			t.Errorf("%s: %v is not ErrUnreachable", tt.name, got)
		}
	}
}
