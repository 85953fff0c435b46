// Java 17 counterparts of the C++ micro-benchmarks (docs/micro-benchmarks.md), with platform
// threads: spawn (start + join), ping-pong between two threads through a monitor
// (synchronized/wait/notify, i.e. a futex underneath), and skynet at the thread-feasible size.
//
// JMH is the right tool but is not available without Maven, so this is a small hand-written
// harness: warm-up rounds (let the JIT compile the code) and then timed repetitions, each long
// enough to amortise the clock. It prints one JSON document on stdout for micro/run.
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

public final class MicroBench {
    /** Skynet with platform threads: 10,000 leaves (11,111 threads); --quick uses 1,000. */
    private static long skynetLeaves = 10_000;
    private static long lastSkynetAnswer = -1;

    public static void main(String[] args) throws Exception {
        boolean quick = args.length > 0 && args[0].equals("--quick");
        int warmups = quick ? 1 : 3;
        int repetitions = quick ? 1 : 5;
        List<String> results = new ArrayList<>();
        results.add(measure("create_join", "ns", warmups, repetitions, quick ? 200 : 5_000,
                MicroBench::spawnJoin, "{}"));
        results.add(measure("switch", "ns", warmups, repetitions, quick ? 2_000 : 100_000,
                MicroBench::pingPong, "{}"));
        if (quick) skynetLeaves = 1_000;
        String skynet = measure("skynet", "ms", quick ? 0 : 1, quick ? 1 : 3, 1, n -> skynetRun(), "{}");
        results.add(skynet.replace("\"params\": {}", String.format(Locale.ROOT,
                "\"params\": {\"leaves\": %d, \"answer\": %d}", skynetLeaves, lastSkynetAnswer)));
        System.out.println("{\"runtime\": \"" + Runtime.version() + "\", \"results\": [\n  "
                + String.join(",\n  ", results) + "\n]}");
    }

    /** A workload that performs `units` units of work and returns how many it performed. */
    interface Workload {
        long run(int units) throws Exception;
    }

    private static String measure(String measurement, String unit, int warmups, int repetitions,
                                  int units, Workload workload, String params) throws Exception {
        for (int i = 0; i < warmups; i++) workload.run(units);
        double[] samples = new double[repetitions];
        for (int r = 0; r < repetitions; r++) {
            long start = System.nanoTime();
            long performed = workload.run(units);
            long elapsed = System.nanoTime() - start;
            samples[r] = unit.equals("ms") ? elapsed / 1e6 : (double) elapsed / performed;
        }
        double[] sorted = samples.clone();
        java.util.Arrays.sort(sorted);
        double median = sorted[sorted.length / 2];
        return String.format(Locale.ROOT,
                "{\"measurement\": \"%s\", \"unit\": \"%s\", \"value\": %.3f, \"min\": %.3f, "
                        + "\"max\": %.3f, \"repetitions\": %d, \"units_per_repetition\": %d, \"params\": %s}",
                measurement, unit, median, sorted[0], sorted[sorted.length - 1], repetitions,
                units, params);
    }

    private static long spawnJoin(int units) throws InterruptedException {
        for (int i = 0; i < units; i++) {
            Thread t = new Thread(() -> { });
            t.start();
            t.join();
        }
        return units;
    }

    /** Whose move it is; both threads wait on this object's monitor for their turn. */
    private static final class Baton {
        boolean partnersTurn;
        boolean stop;
    }

    /** Returns the number of hand-offs: two per round trip. */
    private static long pingPong(int roundTrips) throws InterruptedException {
        Baton baton = new Baton();
        Thread partner = new Thread(() -> {
            synchronized (baton) {
                try {
                    while (true) {
                        while (!baton.partnersTurn && !baton.stop) baton.wait();
                        if (baton.stop) return;
                        baton.partnersTurn = false;
                        baton.notify();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        partner.start();
        synchronized (baton) {
            for (int i = 0; i < roundTrips; i++) {
                baton.partnersTurn = true;
                baton.notify();
                while (baton.partnersTurn) baton.wait();
            }
            baton.stop = true;
            baton.notify();
        }
        partner.join();
        return 2L * roundTrips;
    }

    private static long skynet(long num, long size) throws InterruptedException {
        if (size == 1) return num;
        long[] sums = new long[10];
        Thread[] children = new Thread[10];
        for (int i = 0; i < 10; i++) {
            final int child = i;
            children[i] = new Thread(() -> {
                try {
                    sums[child] = skynet(num + child * (size / 10), size / 10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            children[i].start();
        }
        long sum = 0;
        for (int i = 0; i < 10; i++) {
            children[i].join();
            sum += sums[i];
        }
        return sum;
    }

    /** One skynet run; the answer is reported (and checked by micro/run), not assumed. */
    private static long skynetRun() throws InterruptedException {
        lastSkynetAnswer = skynet(0, skynetLeaves);
        return 1;
    }
}
