package lab.reference;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The /gateway endpoint (docs/service-contract.md): K blocking GET /delay calls to the
 * downstream through one java.net.http.HttpClient, each call a task on the call executor (a
 * new platform thread, a fixed pool or a virtual thread, by --mode), the connection's thread
 * collecting the answers through an ExecutorCompletionService until the deadline. A Semaphore
 * of --downstream-pool permits bounds the calls in flight, and so the connections open:
 * HttpClient has no such limit of its own (jdk.httpclient.connectionPoolSize only bounds the
 * idle ones). When the deadline passes or a call fails, every call still outstanding is
 * cancelled with Future.cancel(true): the interrupt makes HttpClient.send cancel its exchange,
 * which closes that connection instead of returning it to the client's pool.
 * Thread-safe: one instance serves every connection.
 */
final class Gateway {
  static final int MAX_FANOUT = 64;
  static final int MAX_DEADLINE_MS = 600_000;

  /** Why a gateway request got no 200: the status to answer, 502 or 504. */
  static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;

    Failure(int status) {
      super(null, null, false, false);
      this.status = status;
    }
  }

  /** One downstream answer and the index of the call that got it. */
  private record Answer(int index, long i, long ms) {}

  private final HttpClient client;
  private final URI baseUri;
  private final Semaphore connections;
  private final Executor callExecutor;

  /**
   * clientExecutor runs HttpClient's own asynchronous work (null: the client's default, a
   * cached pool of platform threads).
   */
  Gateway(String hostPort, int pool, Executor callExecutor, Executor clientExecutor) {
    HttpClient.Builder builder = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1) // not HTTP/2: no "Upgrade: h2c" on every request
        .proxy(HttpClient.Builder.NO_PROXY);
    if (clientExecutor != null) {
      builder.executor(clientExecutor);
    }
    this.client = builder.build();
    this.baseUri = URI.create("http://" + hostPort + "/");
    if (baseUri.getHost() == null || baseUri.getPort() < 0) {
      throw new IllegalArgumentException("--downstream needs HOST:PORT, got '" + hostPort + "'");
    }
    // Fair, so calls waiting for a connection get one in the order they asked.
    this.connections = new Semaphore(pool, true);
    this.callExecutor = callExecutor;
  }

  /**
   * Makes calls 0..fanout-1 (all at once, or each after the previous one answered) and returns
   * the response body. deadlineNanos is a System.nanoTime() instant, or Long.MAX_VALUE for none.
   */
  String fanOut(int fanout, int ms, boolean sequential, long deadlineNanos)
      throws Failure, InterruptedException {
    CompletionService<Answer> completed = new ExecutorCompletionService<>(callExecutor);
    List<Future<Answer>> started = new ArrayList<>(fanout);
    Map<?, ?>[] calls = new Map<?, ?>[fanout];
    try {
      for (int answered = 0; answered < fanout; answered++) {
        // parallel: start them all at once; sequential: start the next when one has answered.
        while (started.size() < fanout && (!sequential || started.size() == answered)) {
          int index = started.size();
          started.add(completed.submit(() -> call(index, ms)));
        }
        Future<Answer> next = deadlineNanos == Long.MAX_VALUE
            ? completed.take()
            : completed.poll(deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (next == null) {
          throw new Failure(504);
        }
        Answer answer;
        try {
          answer = next.get();
        } catch (ExecutionException refusedBrokenOrBadAnswer) {
          throw new Failure(502);
        }
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("i", answer.i());
        call.put("ms", answer.ms());
        calls[answer.index()] = call;
      }
    } finally {
      // Calls already answered ignore this; the others are interrupted (or never start).
      for (Future<Answer> call : started) {
        call.cancel(true);
      }
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("fanout", fanout);
    body.put("mode", sequential ? "sequential" : "parallel");
    body.put("calls", Arrays.asList(calls));
    return Json.write(body);
  }

  /** One blocking GET /delay?ms=ms&i=index, once a connection permit is free. */
  private Answer call(int index, int ms) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(baseUri.resolve("/delay?ms=" + ms + "&i=" + index)).GET().build();
    HttpResponse<String> response;
    connections.acquire(); // waits while --downstream-pool calls are in flight
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofString());
    } finally {
      connections.release();
    }
    if (response.statusCode() != 200) {
      throw new IOException("downstream answered " + response.statusCode());
    }
    Object parsed;
    try {
      parsed = Json.parse(response.body());
    } catch (IllegalArgumentException notJson) {
      throw new IOException("downstream answer is not JSON", notJson);
    }
    if (parsed instanceof Map<?, ?> answer && answer.get("i") instanceof Long echoedIndex
        && answer.get("ms") instanceof Long echoedMs) {
      return new Answer(index, echoedIndex, echoedMs);
    }
    throw new IOException("downstream answer is not {\"i\":..,\"ms\":..}");
  }
}
