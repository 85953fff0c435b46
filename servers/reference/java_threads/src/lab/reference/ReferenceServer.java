package lab.reference;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The lab's service contract (docs/service-contract.md) on blocking java.net sockets: the main
 * thread accepts, and each connection is served start to finish by one thread that blocks in
 * read, in Thread.sleep and in write. The --mode picks who provides that thread:
 * threads = a new platform thread per connection, pool = a fixed pool (--pool-size, default
 * 200; connection number 201 waits for a free thread), virtual = a virtual thread per
 * connection (needs Java 21+, looked up by reflection so this file still compiles on 17).
 * The same choice supplies the threads that make /gateway's downstream calls (Gateway).
 */
public final class ReferenceServer {
  private final Set<Socket> openConnections = ConcurrentHashMap.newKeySet();

  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("java reference server: " + e.getMessage());
      System.err.println("usage: --port P [--host H] [--threads N] [--idle-timeout S]"
          + " [--mode threads|pool|virtual] [--pool-size N] [--downstream HOST:PORT]"
          + " [--downstream-pool N]");
      System.exit(2);
      return;
    }
    new ReferenceServer().run(options);
  }

  private void run(Options options) throws IOException {
    Executor executor = executorFor(options);
    Gateway gateway = null;
    if (!options.downstream.isEmpty()) {
      try {
        gateway = new Gateway(options.downstream, options.downstreamPool,
            callExecutorFor(options, executor),
            options.mode.equals("virtual") ? executor : null);
      } catch (IllegalArgumentException e) {
        System.err.println("java reference server: " + e.getMessage());
        System.exit(2);
      }
    }
    Gateway downstreamCalls = gateway;
    // Backlog 1024 instead of Java's 50, so that a burst of connects is not dropped before
    // the accept loop sees it (the C++ servers listen with the kernel's maximum).
    ServerSocket listener =
        new ServerSocket(options.port, 1024, InetAddress.getByName(options.host));
    stopOnSignals(listener);
    System.out.println("listening on " + options.host + ":" + listener.getLocalPort() + " ("
        + options.model() + ", " + options.threads + " threads)");
    System.out.flush();

    int idleMillis = options.idleTimeoutSeconds * 1000;
    while (true) {
      Socket socket;
      try {
        socket = listener.accept();
      } catch (SocketException closed) {
        return; // the shutdown hook closed the listener
      }
      openConnections.add(socket);
      executor.execute(() -> {
        try {
          new HttpConnection(socket, idleMillis, downstreamCalls).serve();
        } finally {
          openConnections.remove(socket);
        }
      });
    }
  }

  private static Executor executorFor(Options options) {
    switch (options.mode) {
      case "threads":
        return task -> new Thread(task, "connection").start();
      case "pool":
        return Executors.newFixedThreadPool(options.poolSize);
      case "virtual":
        try {
          return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor")
              .invoke(null);
        } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException e) {
          System.err.println("java reference server: --mode virtual needs Java 21 or newer (this is "
              + Runtime.version() + ")");
          System.exit(2);
          return null;
        }
      default:
        throw new IllegalStateException("unreachable: " + options.mode);
    }
  }

  /**
   * Who runs /gateway's blocking calls, in the mode's own way: threads = a new platform thread
   * per call; pool = a second fixed pool of --downstream-pool threads (not the connection pool:
   * connection threads waiting for calls queued behind them would deadlock it); virtual = a
   * virtual thread per call, from the connections' executor.
   */
  private static Executor callExecutorFor(Options options, Executor connectionExecutor) {
    switch (options.mode) {
      case "threads":
        return task -> new Thread(task, "gateway-call").start();
      case "pool":
        return Executors.newFixedThreadPool(options.downstreamPool);
      default:
        return connectionExecutor;
    }
  }

  /**
   * SIGINT/SIGTERM run the JVM's shutdown hooks; ours stops accepting, closes every
   * connection and halts with status 0 (a JVM ended by a signal would exit with 130/143).
   * Like any JVM, it never sees a SIGINT that it inherited as ignored (a background job of a
   * non-interactive shell); SIGTERM always works.
   */
  private void stopOnSignals(ServerSocket listener) {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        listener.close();
      } catch (IOException ignored) {
        // exiting anyway
      }
      for (Socket socket : openConnections) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // exiting anyway
        }
      }
      System.out.flush();
      Runtime.getRuntime().halt(0);
    }));
  }

  /** Command-line flags; everything has a default except the mode's meaning. */
  static final class Options {
    int port = 8080;
    String host = "127.0.0.1";
    int threads = 1;
    int idleTimeoutSeconds = 30;
    String mode = "threads";
    int poolSize = 200;
    String downstream = ""; // HOST:PORT; empty: /gateway answers 502
    int downstreamPool = 256;

    String model() {
      switch (mode) {
        case "pool":
          return "thread_pool";
        case "virtual":
          return "virtual_thread";
        default:
          return "thread_per_request";
      }
    }

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        String value = args[++i];
        switch (flag) {
          case "--port":
            o.port = parseInt(flag, value);
            break;
          case "--host":
            o.host = value;
            break;
          case "--threads":
            o.threads = parseInt(flag, value);
            break;
          case "--idle-timeout":
            o.idleTimeoutSeconds = parseInt(flag, value);
            break;
          case "--pool-size":
            o.poolSize = parseInt(flag, value);
            break;
          case "--downstream":
            o.downstream = value;
            break;
          case "--downstream-pool":
            o.downstreamPool = parseInt(flag, value);
            if (o.downstreamPool < 1) {
              throw new IllegalArgumentException("--downstream-pool must be at least 1");
            }
            break;
          case "--mode":
            if (!value.equals("threads") && !value.equals("pool") && !value.equals("virtual")) {
              throw new IllegalArgumentException("--mode must be threads, pool or virtual");
            }
            o.mode = value;
            break;
          default:
            throw new IllegalArgumentException("unknown flag " + flag);
        }
      }
      return o;
    }

    private static int parseInt(String flag, String value) {
      try {
        return Integer.parseInt(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " needs a number, got '" + value + "'");
      }
    }
  }
}
