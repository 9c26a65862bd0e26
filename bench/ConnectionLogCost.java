import io.svcproxy.proxy.connlog.ConnectionLog;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * CPU per ended connection of the connection log ({@code proxy.connectionLog}): the event loop's hand-over (the
 * entry ConnectionRecorder builds, and the queue offer) and the writer thread's formatted line, in CPU time, which a
 * busy shared machine distorts far less than a throughput row. Run with the jar on the class path:
 * {@code java -cp proxy-server/target/svcproxy.jar bench/ConnectionLogCost.java 1000000}.
 */
public class ConnectionLogCost {
    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int n = Integer.parseInt(args[0]);
        InetSocketAddress client = new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 40000);
        for (int round = 0; round < 3; round++) {
            Path file = Path.of("/tmp/svcproxy-connlog-cost-" + round + ".log");
            java.nio.file.Files.deleteIfExists(file);
            ConnectionLog log = new ConnectionLog(file, 65536);
            log.start();
            long cpu0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < n; i++) {
                // what ConnectionRecorder.ended does per connection on the event loop
                long now = System.nanoTime();
                ConnectionLog.Entry e = new ConnectionLog.Entry(1_764_812_345_000_000_000L + now, client.getAddress(),
                        client.getPort() + (i & 1023), "shop/web", "http", "127.0.0.201:8080", now & 0xffffff, 100,
                        2000, "fin");
                log.log(e);
                if ((i & 255) == 0) {
                    Thread.sleep(1); // a connection rate the writer keeps up with: about 250k/s at most
                }
            }
            long producer = mx.getCurrentThreadCpuTime() - cpu0;
            long writerId = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("connection-log"))
                    .findFirst().orElseThrow().getId();
            while (log.written() + log.dropped() < n) {
                Thread.sleep(5);
            }
            long writer = mx.getThreadCpuTime(writerId);
            log.close();
            System.out.printf("round %d: %d entries, written %d, dropped %d; hand-over %.0f ns CPU/entry, writer %.0f ns CPU/line%n",
                    round, n, log.written(), log.dropped(), (double) producer / n,
                    writer < 0 ? Double.NaN : (double) writer / Math.max(1, log.written()));
        }
    }
}
