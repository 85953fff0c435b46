// Command go_nethttp serves the lab's service contract (docs/service-contract.md) with Go's
// net/http: one goroutine per connection, one handler routing on the raw path, GOMAXPROCS from
// --threads. gateway.go holds /gateway, the one endpoint that calls another service.
// Everything here is the standard library; the only non-obvious part is errorRewritingConn,
// which gives net/http's hard-coded protocol-error replies the contract's headers and bodies.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	maxHeaderSection = 8192    // request line + headers + blank line, in bytes
	maxBody          = 1 << 20 // 1 MiB
	maxComputeN      = 10_000_000
	maxSleepMs       = 60_000
	serverName       = "concurrency-lab"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 8080, "TCP port (0 picks a free one)")
	threads := flag.Int("threads", 1, "GOMAXPROCS: OS threads running goroutines at once")
	idleTimeout := flag.Int("idle-timeout", 30, "seconds a keep-alive connection may wait for its next request")
	downstreamAddr := flag.String("downstream", "", "HOST:PORT of the service /gateway calls (none: /gateway answers 502)")
	downstreamPool := flag.Int("downstream-pool", 256, "most connections open to the downstream at once")
	flag.Parse()

	if *downstreamAddr != "" {
		if err := parseDownstreamFlag(*downstreamAddr); err != nil || *downstreamPool < 1 {
			fmt.Fprintln(os.Stderr, "go_nethttp: --downstream needs HOST:PORT and --downstream-pool at least 1")
			os.Exit(2)
		}
		downstream = newDownstreamClient(*downstreamAddr, *downstreamPool)
	}

	runtime.GOMAXPROCS(*threads)

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_nethttp:", err)
		os.Exit(1)
	}

	srv := &http.Server{
		Handler:     http.HandlerFunc(serve),
		IdleTimeout: time.Duration(*idleTimeout) * time.Second,
		// net/http stops reading a header section at MaxHeaderBytes + 4096 bytes (it adds slack
		// for the request line). 4096 + 4096 = the contract's 8192; the handler checks the exact
		// size too, because bytes already buffered from a pipelined read are not counted.
		MaxHeaderBytes: maxHeaderSection - 4096,
	}

	fmt.Printf("listening on %s (goroutine, %d threads)\n", ln.Addr(), *threads)
	os.Stdout.Sync()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// Stop accepting and let idle connections go; a /sleep in flight gets one second.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(shutdownCtx) != nil {
			srv.Close()
		}
	}()

	if err := srv.Serve(errorRewritingListener{ln}); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "go_nethttp:", err)
		os.Exit(1)
	}
}

// routes maps each known path, exactly as sent, to its handler.
var routes = map[string]http.HandlerFunc{
	"/plaintext": func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, "text/plain", "Hello, World!")
	},
	"/json": func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(struct {
			Message string `json:"message"`
		}{"Hello, World!"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		reply(w, http.StatusOK, "application/json", string(body))
	},
	"/compute": func(w http.ResponseWriter, r *http.Request) {
		n, ok := boundedParam(r, "n", maxComputeN)
		if !ok {
			replyError(w, http.StatusBadRequest, false)
			return
		}
		reply(w, http.StatusOK, "text/plain", strconv.FormatUint(uint64(compute(n)), 10))
	},
	"/sleep": func(w http.ResponseWriter, r *http.Request) {
		ms, ok := boundedParam(r, "ms", maxSleepMs)
		if !ok {
			replyError(w, http.StatusBadRequest, false)
			return
		}
		time.Sleep(time.Duration(ms) * time.Millisecond) // parks this goroutine; its thread runs others
		reply(w, http.StatusOK, "text/plain", strconv.Itoa(ms))
	},
	"/gateway": gateway, // gateway.go
}

// serve routes on the raw path, the request target up to its first '?', compared byte for byte
// ("Paths" in docs/service-contract.md). http.ServeMux is not used: it matches the decoded,
// cleaned r.URL.Path, so /%63ompute would reach /compute and //compute would get a redirect.
// r.URL.EscapedPath() is not the raw path either: it re-encodes when the raw form is unusual.
func serve(w http.ResponseWriter, r *http.Request) {
	if !isOriginForm(r.RequestURI) {
		replyError(w, http.StatusBadRequest, true)
		return
	}
	if !checkLimitsAndDrainBody(w, r) {
		return
	}
	path, _, _ := strings.Cut(r.RequestURI, "?")
	handler, known := routes[path]
	if !known {
		replyError(w, http.StatusNotFound, false)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		replyError(w, http.StatusMethodNotAllowed, false)
		return
	}
	handler(w, r)
}

// isOriginForm applies the contract's target rule ("Paths"): the target must start with '/'.
// net/http hands the handler absolute-form (r.URL gets the host) and "*" as well; these
// servers are not proxies, so both are malformed request lines here (400 + close). A bare
// "plaintext" and a malformed escape in the path ("/%zz") never get here: url.ParseRequestURI
// fails on them and net/http answers 400 + close itself. OPTIONS * is the one target net/http
// answers itself (200, empty body) before any handler: a documented exception.
func isOriginForm(requestURI string) bool {
	return strings.HasPrefix(requestURI, "/")
}

// checkLimitsAndDrainBody enforces the header and body limits and consumes a body of up to
// 1 MiB, so the next pipelined request is framed right (net/http alone would close the
// connection after a body it did not read past 256 KiB). It answers and returns false when a
// limit is exceeded.
func checkLimitsAndDrainBody(w http.ResponseWriter, r *http.Request) bool {
	if headerSectionSize(r) > maxHeaderSection {
		replyError(w, http.StatusRequestHeaderFieldsTooLarge, true)
		return false
	}
	if r.ContentLength > maxBody {
		replyError(w, http.StatusRequestEntityTooLarge, true)
		return false
	}
	if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBody)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			replyError(w, http.StatusRequestEntityTooLarge, true)
		} else {
			replyError(w, http.StatusBadRequest, true)
		}
		return false
	}
	return true
}

// headerSectionSize rebuilds the byte count of the request line and headers as a client
// normally writes them ("Name: value\r\n"); net/http moves Host and Transfer-Encoding out
// of the header map into their own fields.
func headerSectionSize(r *http.Request) int {
	size := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" {
		size += len("Host: ") + len(r.Host) + 2
	}
	if len(r.TransferEncoding) > 0 {
		size += len("Transfer-Encoding: ") + len(strings.Join(r.TransferEncoding, ", ")) + 2
	}
	for name, values := range r.Header {
		for _, v := range values {
			size += len(name) + 2 + len(v) + 2
		}
	}
	return size + 2
}

// boundedParam reads a query parameter by the contract's rule ("Query parameters" in
// docs/service-contract.md): the first name=value pair named name counts, its value is
// form-decoded and must be one or more decimal digits, at most max (leading zeros allowed).
// r.URL.Query() is not used: it decodes names, skips pairs with bad escapes (so "n=%zz&n=1"
// would find 1) and lets a later duplicate be seen when the first is dropped.
func boundedParam(r *http.Request, name string, max int) (int, bool) {
	s, ok := firstQueryValue(r.URL.RawQuery, name)
	if !ok || s == "" {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	s = strings.TrimLeft(s, "0")
	if len(s) > len(strconv.Itoa(max)) { // longer than max can't fit; also keeps Atoi from overflowing
		return 0, false
	}
	if s == "" {
		return 0, true // all zeros
	}
	v, err := strconv.Atoi(s)
	if err != nil || v > max {
		return 0, false
	}
	return v, true
}

// firstQueryValue returns the decoded value of the first pair in rawQuery whose raw name is
// name; false if there is none, it has no '=', or its value has a malformed %-escape.
func firstQueryValue(rawQuery, name string) (string, bool) {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, value, hasValue := strings.Cut(pair, "=")
		if key != name {
			continue
		}
		if !hasValue {
			return "", false
		}
		decoded, err := url.QueryUnescape(value) // %XX and '+' as a space; errors on bad escapes
		if err != nil {
			return "", false
		}
		return decoded, true
	}
	return "", false
}

// compute runs n steps of Marsaglia's xorshift32 from the contract's seed.
func compute(n int) uint32 {
	x := uint32(2463534242)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
	}
	return x
}

func reply(w http.ResponseWriter, status int, contentType, body string) {
	h := w.Header()
	h.Set("Server", serverName)
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body))) // kept for HEAD, where the body is dropped
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// errorBody is the contract's body for each error status; it differs from http.StatusText for
// 413 (net/http still says "Request Entity Too Large", RFC 9110 says "Content Too Large").
func errorBody(status int) string {
	if status == http.StatusRequestEntityTooLarge {
		return "Payload Too Large"
	}
	return http.StatusText(status)
}

func replyError(w http.ResponseWriter, status int, closeAfter bool) {
	if closeAfter {
		w.Header().Set("Connection", "close")
	}
	reply(w, status, "text/plain", errorBody(status))
}

// net/http answers requests it cannot parse (bad request line, bad header, header section past
// its read limit) before any handler runs, with a fixed reply that lacks Server, Date and
// Content-Length and has bodies like "400 Bad Request: malformed Host header". It writes that
// reply to the connection in one Write, so a thin net.Conn wrapper can recognise it by its
// fixed header block and send the contract's reply instead. Normal responses pass untouched.
type errorRewritingListener struct{ net.Listener }

func (l errorRewritingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return errorRewritingConn{c}, nil
}

type errorRewritingConn struct{ net.Conn }

var netHTTPErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c errorRewritingConn) Write(p []byte) (int, error) {
	// "HTTP/1.1 NNN Reason" + netHTTPErrorHeaders + body: net/http's own 4xx/5xx replies.
	if len(p) > 13 && bytes.HasPrefix(p, []byte("HTTP/1.1 ")) && (p[9] == '4' || p[9] == '5') {
		if i := bytes.Index(p, netHTTPErrorHeaders); i > 0 && bytes.IndexByte(p[:i], '\n') < 0 {
			if status, err := strconv.Atoi(string(p[9:12])); err == nil {
				text := errorBody(status)
				var b bytes.Buffer
				fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\nContent-Type: text/plain\r\n"+
					"Content-Length: %d\r\nConnection: close\r\n\r\n%s",
					status, text, serverName, time.Now().UTC().Format(http.TimeFormat), len(text), text)
				if _, err := c.Conn.Write(b.Bytes()); err != nil {
					return 0, err
				}
				return len(p), nil
			}
		}
	}
	return c.Conn.Write(p)
}
