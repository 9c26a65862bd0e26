package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One timer per event loop for the response timeouts of its requests, on a real event loop and clock. */
@Timeout(30)
class ResponseDeadlinesTest {
    private static final long TIMEOUT_MS = 300;

    private final EventLoop loop = new DefaultEventLoop();
    private final ResponseDeadlines deadlines = new ResponseDeadlines(TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS));
    /** What timed out, with the milliseconds from its arming. */
    private final List<String> expired = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private ResponseDeadlines.Waiting arm(String name) throws Exception {
        long armed = System.nanoTime();
        return loop.submit(() -> deadlines.arm(() -> expired.add(name + "@"
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - armed)), loop)).get();
    }

    private void run(Runnable r) throws Exception {
        loop.submit(r).get();
    }

    @Test
    void aRequestTimesOutNoEarlierThanItsOwnDeadlineEvenWhenArmedAfterOthers() throws Exception {
        ResponseDeadlines.Waiting first = arm("first");
        Thread.sleep(TIMEOUT_MS / 2);
        arm("second");
        // the first is answered: the timer, set for the first's deadline, must move on to the second's
        run(() -> deadlines.disarm(first));
        await().atMost(Duration.ofSeconds(10)).until(() -> !expired.isEmpty());
        assertThat(expired).hasSize(1);
        assertThat(expired.get(0)).startsWith("second@");
        assertThat(Long.parseLong(expired.get(0).substring("second@".length()))).isGreaterThanOrEqualTo(TIMEOUT_MS);
        assertThat(loop.submit(deadlines::waiting).get()).isZero();
    }

    @Test
    void requestsTimeOutInTheOrderOfTheirDeadlinesAndDisarmedOnesNever() throws Exception {
        arm("a");
        ResponseDeadlines.Waiting b = arm("b");
        arm("c");
        ResponseDeadlines.Waiting d = arm("d");
        run(() -> {
            deadlines.disarm(b);
            deadlines.disarm(d);
            deadlines.disarm(d); // twice: no effect
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> expired.size() == 2);
        Thread.sleep(TIMEOUT_MS);
        assertThat(expired).extracting(e -> e.substring(0, 1)).containsExactly("a", "c");
    }

    @Test
    void aRequestArmedWhileOthersTimeOutGetsItsWholeTimeout() throws Exception {
        // as a 504 that lets the connection's next request start from within the timer's run
        long armed = System.nanoTime();
        run(() -> deadlines.arm(() -> {
            expired.add("first");
            deadlines.arm(() -> expired.add("next@" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - armed)),
                    loop);
        }, loop));
        await().atMost(Duration.ofSeconds(10)).until(() -> expired.size() == 2);
        assertThat(expired.get(0)).isEqualTo("first");
        assertThat(Long.parseLong(expired.get(1).substring("next@".length()))).isGreaterThanOrEqualTo(2 * TIMEOUT_MS);
    }

    @Test
    void aDisarmAfterTheTimeoutFiredHasNoEffect() throws Exception {
        ResponseDeadlines.Waiting w = arm("w");
        await().atMost(Duration.ofSeconds(10)).until(() -> expired.size() == 1);
        run(() -> deadlines.disarm(w));
        ResponseDeadlines.Waiting x = arm("x");
        run(() -> deadlines.disarm(w)); // w's stale links must not unlink x
        assertThat(loop.submit(deadlines::waiting).get()).isEqualTo(1);
        run(() -> deadlines.disarm(x));
        assertThat(loop.submit(deadlines::waiting).get()).isZero();
    }
}
