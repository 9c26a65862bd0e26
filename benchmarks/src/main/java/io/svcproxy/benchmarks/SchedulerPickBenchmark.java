package io.svcproxy.benchmarks;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.balancer.Scheduler;
import io.svcproxy.balancer.Schedulers;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Measures one scheduler pick, the decision made for every new connection, for every IPVS scheduler over 10,
 * 100 and 1,000 endpoints with random weights (1..10) and random connection counts (so the least-connection
 * family walks a realistic list). Client addresses rotate through 1,024 values so the hashing schedulers do not
 * hit one bucket. Run with:
 *
 * <pre>
 *   mvn -Pbench -DskipTests package -pl benchmarks -am
 *   java -jar benchmarks/target/benchmarks.jar SchedulerPickBenchmark -f 1 -wi 3 -i 5
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SchedulerPickBenchmark {
    @Param({"rr", "wrr", "lc", "wlc", "sed", "nq", "dh", "sh", "mh", "random"})
    public String scheduler;

    @Param({"10", "100", "1000"})
    public int endpoints;

    private Scheduler picker;
    private PickContext[] contexts;
    private int next;

    @Setup
    public void setUp() throws UnknownHostException {
        Random random = new Random(42);
        List<BackendState> backends = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            InetAddress ip = InetAddress.getByAddress(new byte[] {10, 1, (byte) (i >> 8), (byte) i});
            BackendState b = BackendState.of(ip, 8080, 1 + random.nextInt(10));
            int active = random.nextInt(50);
            for (int c = 0; c < active; c++) {
                b.counters().lease().established();
            }
            backends.add(b);
        }
        backends.sort(Backends.ORDER);
        picker = Schedulers.create(scheduler, Set.of(), backends);
        contexts = new PickContext[1024];
        InetAddress vip = InetAddress.getByAddress(new byte[] {10, 96, 0, 10});
        for (int i = 0; i < contexts.length; i++) {
            InetAddress client = InetAddress.getByAddress(new byte[] {10, 2, (byte) (i >> 8), (byte) i});
            contexts[i] = PickContext.of(client, 40000 + i, vip);
        }
    }

    @Benchmark
    public Object pick() {
        PickContext ctx = contexts[next++ & (contexts.length - 1)];
        return picker.pick(ctx);
    }
}
