package lab.reference;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One keep-alive HTTP/1.1 connection served by the calling thread with blocking I/O: read a
 * request, answer it, repeat until the client closes, asks to close, breaks the protocol or
 * stays idle longer than the idle timeout (SO_TIMEOUT on the socket, which only runs while
 * this thread waits in read, so time in /sleep or /compute is not idle time). Not thread-safe;
 * one instance per connection.
 */
final class HttpConnection {
  static final int MAX_HEADER_SECTION = 8192; // request line + headers + blank line
  static final int MAX_BODY = 1024 * 1024;
  static final int MAX_COMPUTE_N = 10_000_000;
  static final int MAX_SLEEP_MS = 60_000;

  private static final DateTimeFormatter IMF_FIXDATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

  private final Socket socket;
  private final int idleMillis;
  private final Gateway gateway; // null without --downstream: /gateway answers 502
  private final byte[] buffer = new byte[16 * 1024];
  private int start; // first unread byte in buffer
  private int end; // one past the last byte read from the socket
  private InputStream in;
  private OutputStream out;

  HttpConnection(Socket socket, int idleMillis, Gateway gateway) {
    this.socket = socket;
    this.idleMillis = idleMillis;
    this.gateway = gateway;
  }

  /** A protocol error that ends the connection after a reply with this status. */
  private static final class HttpError extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;

    HttpError(int status) {
      super(null, null, false, false);
      this.status = status;
    }
  }

  private static final class Request {
    String method;
    String target;
    boolean http10;
    boolean keepAlive;
  }

  void serve() {
    try (socket) {
      socket.setSoTimeout(idleMillis);
      socket.setTcpNoDelay(true);
      in = socket.getInputStream();
      out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
      while (true) {
        Request request;
        try {
          request = readRequest();
        } catch (HttpError e) {
          writeResponse(e.status, "text/plain", reason(e.status), false, false, true);
          out.flush();
          return;
        }
        if (request == null) {
          out.flush();
          return; // clean end of stream between requests
        }
        respond(request);
        // Pipelined requests already buffered get their answers in one write.
        if (start == end || !request.keepAlive) {
          out.flush();
        }
        if (!request.keepAlive) {
          return;
        }
      }
    } catch (SocketTimeoutException idle) {
      // idle past --idle-timeout: close without a response
    } catch (IOException | InterruptedException gone) {
      // peer reset or server stopping
    }
  }

  // ---- reading ----

  /** Reads one request with its body; null at end of stream before any byte of it. */
  private Request readRequest() throws IOException, HttpError {
    int headerEnd = findHeaderEnd();
    if (headerEnd < 0) {
      return null;
    }
    String head = new String(buffer, start, headerEnd - start, StandardCharsets.ISO_8859_1);
    start = headerEnd;
    String[] lines = head.split("\r\n", -1); // ends with "", "" for the blank line

    Request request = new Request();
    if (hasControl(lines[0], false)) {
      throw new HttpError(400);
    }
    String[] parts = lines[0].split(" ", -1);
    if (parts.length != 3 || !isToken(parts[0]) || !isOriginForm(parts[1])) {
      throw new HttpError(400);
    }
    request.method = parts[0];
    request.target = parts[1];
    if (parts[2].equals("HTTP/1.1")) {
      request.http10 = false;
    } else if (parts[2].equals("HTTP/1.0")) {
      request.http10 = true;
    } else {
      throw new HttpError(400);
    }

    String connection = "";
    String contentLength = null;
    String transferEncoding = null;
    for (int i = 1; i < lines.length - 2; i++) {
      String line = lines[i];
      int colon = line.indexOf(':');
      if (colon <= 0 || !isToken(line.substring(0, colon)) || hasControl(line, true)) {
        throw new HttpError(400);
      }
      String name = line.substring(0, colon).toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      switch (name) {
        case "connection":
          connection = connection + "," + value.toLowerCase(Locale.ROOT);
          break;
        case "content-length":
          if (contentLength != null && !contentLength.equals(value)) {
            throw new HttpError(400);
          }
          contentLength = value;
          break;
        case "transfer-encoding":
          transferEncoding = value.toLowerCase(Locale.ROOT);
          break;
        default:
          break;
      }
    }
    request.keepAlive = request.http10
        ? hasToken(connection, "keep-alive")
        : !hasToken(connection, "close");

    if (transferEncoding != null) {
      if (contentLength != null || !transferEncoding.equals("chunked")) {
        throw new HttpError(400);
      }
      skipChunkedBody();
    } else if (contentLength != null) {
      if (contentLength.isEmpty() || contentLength.length() > 18
          || !contentLength.chars().allMatch(c -> c >= '0' && c <= '9')) {
        throw new HttpError(400);
      }
      long length = Long.parseLong(contentLength);
      if (length > MAX_BODY) {
        throw new HttpError(413);
      }
      skip(length);
    }
    return request;
  }

  /**
   * Reads until buffer[start..] holds a whole header section and returns the index one past
   * its blank line; -1 at end of stream before any byte. 431 past 8192 bytes, 400 when the
   * stream ends mid-request.
   */
  private int findHeaderEnd() throws IOException, HttpError {
    int scanned = 0; // bytes after start already searched; fill() may move start
    while (true) {
      for (int i = Math.max(start + scanned, start + 3); i < end; i++) {
        if (buffer[i] == '\n' && buffer[i - 1] == '\r' && buffer[i - 2] == '\n'
            && buffer[i - 3] == '\r') {
          if (i + 1 - start > MAX_HEADER_SECTION) {
            throw new HttpError(431);
          }
          return i + 1;
        }
      }
      scanned = end - start;
      if (end - start >= MAX_HEADER_SECTION) {
        throw new HttpError(431);
      }
      if (fill() < 0) {
        if (end == start) {
          return -1;
        }
        throw new HttpError(400);
      }
    }
  }

  /** Reads more bytes after the unread ones, compacting the buffer; -1 at end of stream. */
  private int fill() throws IOException {
    if (start == end) {
      start = 0; // nothing unread: reuse the whole buffer
      end = 0;
    } else if (end == buffer.length) {
      System.arraycopy(buffer, start, buffer, 0, end - start);
      end -= start;
      start = 0;
    }
    int n = in.read(buffer, end, buffer.length - end);
    if (n > 0) {
      end += n;
    }
    return n;
  }

  private void skip(long length) throws IOException, HttpError {
    while (length > 0) {
      if (start == end && fill() < 0) {
        throw new HttpError(400);
      }
      int n = (int) Math.min(length, end - start);
      start += n;
      length -= n;
    }
  }

  private String readLine() throws IOException, HttpError {
    while (true) {
      for (int i = start + 1; i < end; i++) {
        if (buffer[i] == '\n' && buffer[i - 1] == '\r') {
          String line = new String(buffer, start, i - 1 - start, StandardCharsets.ISO_8859_1);
          start = i + 1;
          return line;
        }
      }
      if (end - start >= 1024) {
        throw new HttpError(400); // no sane chunk-size or trailer line is this long
      }
      if (fill() < 0) {
        throw new HttpError(400);
      }
    }
  }

  /** Chunked body: sizes in hex, 413 once the total passes 1 MiB, trailers dropped. */
  private void skipChunkedBody() throws IOException, HttpError {
    long total = 0;
    while (true) {
      String sizeLine = readLine();
      int semicolon = sizeLine.indexOf(';');
      String hex = (semicolon >= 0 ? sizeLine.substring(0, semicolon) : sizeLine).trim();
      long size;
      try {
        if (hex.isEmpty() || hex.length() > 15) {
          throw new NumberFormatException();
        }
        size = Long.parseLong(hex, 16);
      } catch (NumberFormatException e) {
        throw new HttpError(400);
      }
      if (size < 0) {
        throw new HttpError(400);
      }
      total += size;
      if (total > MAX_BODY) {
        throw new HttpError(413);
      }
      if (size == 0) {
        while (!readLine().isEmpty()) {
          // trailer fields are ignored
        }
        return;
      }
      skip(size);
      if (!readLine().isEmpty()) {
        throw new HttpError(400);
      }
    }
  }

  /**
   * The contract's target rule ("Paths" in docs/service-contract.md): origin-form only (not
   * absolute-form, '*' or a bare name: these servers are not proxies), and every '%' in the
   * path (before the first '?') followed by two hex digits. The path itself is not decoded.
   */
  static boolean isOriginForm(String target) {
    if (target.isEmpty() || target.charAt(0) != '/') {
      return false;
    }
    int question = target.indexOf('?');
    int pathEnd = question >= 0 ? question : target.length();
    for (int i = target.indexOf('%'); i >= 0 && i < pathEnd; i = target.indexOf('%', i + 1)) {
      if (i + 2 >= pathEnd || Character.digit(target.charAt(i + 1), 16) < 0
          || Character.digit(target.charAt(i + 2), 16) < 0) {
        return false;
      }
    }
    return true;
  }

  private static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether line holds a control character (below 0x20, or DEL), which no request line or
   * header field may contain (RFC 9110 5.5: a NUL, bare CR or bare LF in a value is rejected);
   * a header value may hold HTAB.
   */
  private static boolean hasControl(String line, boolean tabAllowed) {
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if ((c < 0x20 && !(tabAllowed && c == '\t')) || c == 0x7f) {
        return true;
      }
    }
    return false;
  }

  private static boolean hasToken(String commaList, String token) {
    for (String part : commaList.split(",")) {
      if (part.trim().equals(token)) {
        return true;
      }
    }
    return false;
  }

  // ---- answering ----

  private void respond(Request request) throws IOException, InterruptedException {
    long startNanos = System.nanoTime(); // a /gateway deadline counts from here
    int question = request.target.indexOf('?');
    String path = question >= 0 ? request.target.substring(0, question) : request.target;
    String query = question >= 0 ? request.target.substring(question + 1) : "";
    boolean head = request.method.equals("HEAD");
    boolean known = path.equals("/plaintext") || path.equals("/json")
        || path.equals("/compute") || path.equals("/sleep") || path.equals("/gateway");
    if (!known) {
      reply(request, 404, "text/plain", "Not Found", head);
      return;
    }
    if (!head && !request.method.equals("GET")) {
      reply(request, 405, "text/plain", "Method Not Allowed", false);
      return;
    }
    switch (path) {
      case "/plaintext":
        reply(request, 200, "text/plain", "Hello, World!", head);
        break;
      case "/json":
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("message", "Hello, World!");
        reply(request, 200, "application/json", Json.write(message), head);
        break;
      case "/compute": {
        int n = boundedParam(query, "n", MAX_COMPUTE_N);
        if (n < 0) {
          reply(request, 400, "text/plain", "Bad Request", head);
        } else {
          reply(request, 200, "text/plain", Integer.toUnsignedString(compute(n)), head);
        }
        break;
      }
      case "/gateway":
        gateway(request, query, head, startNanos);
        break;
      default: { // "/sleep"
        int ms = boundedParam(query, "ms", MAX_SLEEP_MS);
        if (ms < 0) {
          reply(request, 400, "text/plain", "Bad Request", head);
        } else {
          out.flush(); // answers to earlier pipelined requests should not wait for the sleep
          Thread.sleep(ms); // this thread blocks; the others keep serving
          reply(request, 200, "text/plain", Integer.toString(ms), head);
        }
        break;
      }
    }
  }

  /**
   * GET /gateway?fanout=K&ms=M[&mode=parallel|sequential][&deadline_ms=D]: this thread waits
   * while Gateway makes the K downstream calls, as it waits in /sleep.
   */
  private void gateway(Request request, String query, boolean head, long startNanos)
      throws IOException, InterruptedException {
    int fanout = boundedParam(query, "fanout", Gateway.MAX_FANOUT);
    int ms = boundedParam(query, "ms", MAX_SLEEP_MS);
    String mode = hasQueryName(query, "mode") ? firstQueryValue(query, "mode") : "parallel";
    int deadlineMs = hasQueryName(query, "deadline_ms")
        ? boundedParam(query, "deadline_ms", Gateway.MAX_DEADLINE_MS)
        : Integer.MAX_VALUE; // none
    if (fanout < 1 || ms < 0 || deadlineMs < 1
        || !("parallel".equals(mode) || "sequential".equals(mode))) {
      reply(request, 400, "text/plain", "Bad Request", head);
      return;
    }
    if (gateway == null) {
      reply(request, 502, "text/plain", "Bad Gateway", head);
      return;
    }
    out.flush(); // answers to earlier pipelined requests should not wait for the calls
    long deadlineNanos = deadlineMs == Integer.MAX_VALUE
        ? Long.MAX_VALUE
        : startNanos + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
    try {
      String body = gateway.fanOut(fanout, ms, mode.equals("sequential"), deadlineNanos);
      reply(request, 200, "application/json", body, head);
    } catch (Gateway.Failure failure) {
      reply(request, failure.status, "text/plain", reason(failure.status), head);
    }
  }

  /**
   * Whether any pair of query has the raw name name: an optional parameter is absent only when
   * no pair names it ("mode" without '=' is present and invalid).
   */
  static boolean hasQueryName(String query, String name) {
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if ((eq >= 0 ? pair.substring(0, eq) : pair).equals(name)) {
        return true;
      }
    }
    return false;
  }

  /** n steps of Marsaglia's xorshift32 from the contract's seed, as unsigned 32-bit bits. */
  static int compute(int n) {
    int x = 0x92D68CA2;
    for (int i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    return x;
  }

  /**
   * The contract's query rule ("Query parameters" in docs/service-contract.md): the first
   * name=value pair whose raw name is name counts; its value, form-decoded, must be 1+ decimal
   * digits (leading zeros allowed) and at most max. Returns it, or -1 when the pair is missing,
   * has no '=', has a malformed %-escape, is not all digits or is above max.
   */
  static int boundedParam(String query, String name, int max) {
    String value = firstQueryValue(query, name);
    if (value == null || value.isEmpty()
        || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return -1;
    }
    String digits = value.replaceFirst("^0+(?=.)", "");
    if (digits.length() > 9) {
      return -1; // above any int max; also keeps parseInt from overflowing
    }
    int v = Integer.parseInt(digits);
    return v <= max ? v : -1;
  }

  /**
   * The decoded value of the first pair in query whose raw (undecoded) name is name; null if
   * there is none, it has no '=', or its value has a malformed %-escape.
   */
  static String firstQueryValue(String query, String name) {
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (!(eq >= 0 ? pair.substring(0, eq) : pair).equals(name)) {
        continue;
      }
      if (eq < 0) {
        return null;
      }
      try {
        return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException badEscape) {
        return null;
      }
    }
    return null;
  }

  private void reply(Request request, int status, String contentType, String body, boolean head)
      throws IOException {
    writeResponse(status, contentType, body, head, request.http10 && request.keepAlive,
        !request.keepAlive);
  }

  private void writeResponse(int status, String contentType, String body, boolean head,
      boolean announceKeepAlive, boolean announceClose) throws IOException {
    byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
    StringBuilder h = new StringBuilder(160);
    h.append("HTTP/1.1 ").append(status).append(' ').append(reason(status))
        .append("\r\nServer: concurrency-lab\r\nDate: ").append(httpDate())
        .append("\r\nContent-Type: ").append(contentType)
        .append("\r\nContent-Length: ").append(bodyBytes.length).append("\r\n");
    if (status == 405) {
      h.append("Allow: GET, HEAD\r\n");
    }
    if (announceClose) {
      h.append("Connection: close\r\n");
    } else if (announceKeepAlive) {
      h.append("Connection: keep-alive\r\n");
    }
    h.append("\r\n");
    out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
    if (!head) {
      out.write(bodyBytes);
    }
  }

  private static String reason(int status) {
    switch (status) {
      case 200:
        return "OK";
      case 400:
        return "Bad Request";
      case 404:
        return "Not Found";
      case 405:
        return "Method Not Allowed";
      case 413:
        return "Payload Too Large";
      case 431:
        return "Request Header Fields Too Large";
      case 502:
        return "Bad Gateway";
      case 504:
        return "Gateway Timeout";
      default:
        return "Error";
    }
  }

  /** A formatted Date header value and the second it is for; immutable, so safe to share. */
  private static final class DateForSecond {
    final long second;
    final String text;

    DateForSecond(long second, String text) {
      this.second = second;
      this.text = text;
    }
  }

  private static volatile DateForSecond cachedDate = new DateForSecond(-1, "");

  /** IMF-fixdate, formatted at most once a second per racing thread. */
  private static String httpDate() {
    long now = System.currentTimeMillis() / 1000;
    DateForSecond date = cachedDate;
    if (date.second != now) {
      date = new DateForSecond(now,
          Instant.ofEpochSecond(now).atZone(ZoneOffset.UTC).format(IMF_FIXDATE));
      cachedDate = date;
    }
    return date.text;
  }
}
