package io.svcproxy.proxy.dataplane;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.RelayEpollSocketChannel;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.balancer.Lease;
import io.svcproxy.ingress.proxy.Resets;
import io.svcproxy.ingress.proxy.TurnFlush;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays the bytes of one proxied connection once its endpoint connection is up: client to endpoint ({@code up})
 * and endpoint to client ({@code down}), each a {@link Direction} from one channel to the other. Both channels
 * live on one event loop, which calls every method here: the fields are plain.
 *
 * <p>A direction is in one of these states; the relay follows this table and nothing else.
 *
 * <pre>
 * state      event                                   action                                       next
 * ---------  --------------------------------------  -------------------------------------------  ---------
 * OPEN       bytes read from {@code from}            write them to {@code to} (flushed at          OPEN
 *                                                    read-complete); if {@code to} is now over
 *                                                    its high water mark: stop reading from        PAUSED
 * PAUSED     {@code to} drains below its low mark    read from again                              OPEN
 * OPEN,      FIN from {@code from} (input shut down)  never read from again; the lease goes        ENDING
 *  PAUSED                                            inactive; flush what is queued to
 *                                                    {@code to}, then {@code shutdownOutput(to)}
 * ENDING     {@code to} drains                       nothing: its input is shut down, it is        ENDING
 *                                                    never resumed (resuming it was the bug of
 *                                                    issue 11: epoll_ctl on a shut-down input)
 * ENDING     the FIN's bytes are flushed and          remember it; when the other direction is     ENDED
 *            {@code shutdownOutput(to)} completed    ENDED too, close both channels
 * ENDING     the FIN's bytes are flushed, and the     close both channels: {@code to}'s input is   ENDED
 *            other direction is ENDED already        at end of stream, so the close sends the
 *                                                    FIN (no {@code shutdownOutput})
 * any        an error on a channel (a reset, a        close it; the other channel is reset          CLOSED
 *            failed write, any exception)            (SO_LINGER 0): a reset stays a reset
 * any        a channel closed by anything else       close the other at once                      CLOSED
 *            (abort: idle, drain or shutdown
 *            timeout, or the relay's own close)
 * </pre>
 *
 * <p>Both channels close only when both directions are ENDED: a FIN one way does not end the other way, and
 * the second FIN does not cut bytes still queued toward the first FIN's side (the second bug of issue 11). When
 * both FINs have been passed on, both inputs are at end of stream and both outputs are flushed and shut down,
 * so closing loses nothing.
 *
 * <p>Memory: at most the high water mark plus one read loop waits in svcproxy per direction. A read loop ends
 * as soon as {@code AUTO_READ} goes off, and EPOLLIN is not toggled per read.
 */
final class Relay {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    /**
     * Writability thresholds of a channel's outbound buffer: above the high mark the other side is no longer
     * read; below the low mark it is read again.
     */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    /** The allocator of read buffers: sized to what the connection sends, 64 B to 64 KiB; shared (stateless). */
    private static final RecvByteBufAllocator RECV_ALLOCATOR = new AdaptiveRecvByteBufAllocator(64, 2048, 64 * 1024);

    private final Channel inbound;
    private final Channel outbound;
    private final ServicePort servicePort;
    private final ConnectionCounters counters;
    private final Lease lease;
    /** Client to endpoint. */
    final Direction up;
    /** Endpoint to client. */
    final Direction down;
    /** When bytes last moved either way, for idleTimeout. */
    final RelayActivity activity;
    /** The first I/O error or exception that failed the relay, for the connection log's {@code end}; or null. */
    private Throwable failure;

    Relay(Channel inbound, Channel outbound, ServicePort servicePort, ConnectionCounters counters, Lease lease) {
        this.inbound = inbound;
        this.outbound = outbound;
        this.servicePort = servicePort;
        this.counters = counters;
        this.lease = lease;
        this.activity = new RelayActivity(inbound, outbound);
        this.up = new Direction(inbound, outbound, true);
        this.down = new Direction(outbound, inbound, false);
    }

    /**
     * Returns the allocator of read buffers. A read loop reads up to 16 buffers, but the relay turns
     * {@code AUTO_READ} off as soon as the other side is over its high water mark, which ends the loop: one read
     * adds at most 64 KiB beyond the mark.
     */
    static RecvByteBufAllocator recvAllocator() {
        return RECV_ALLOCATOR;
    }

    /** Returns the direction whose bytes are read from {@code channel}, or {@code null} for another channel. */
    Direction from(Channel channel) {
        return channel == inbound ? up : channel == outbound ? down : null;
    }

    /** Returns the direction whose bytes are written to {@code channel}, or {@code null} for another channel. */
    Direction to(Channel channel) {
        return channel == outbound ? up : channel == inbound ? down : null;
    }

    /** Returns whether both directions ended with a FIN passed on (the connection closes, or closed, cleanly). */
    boolean bothEnded() {
        return up.finPassed && down.finPassed;
    }

    /**
     * Handles an I/O error (a reset, a failed write) of {@code failed}: closes it and resets the other channel,
     * so that the peer behind it sees a reset too rather than a FIN that would read as a complete stream.
     */
    void failed(Channel failed, Throwable cause) {
        if (failure == null) {
            failure = cause;
        }
        if (log.isDebugEnabled()) {
            log.debug("Relay reset failed={} client={} up={} down={} cause={}", failed == inbound ? "client" : "endpoint",
                    inbound.remoteAddress(), up, down, cause.toString());
        }
        failed.close();
        reset(failed == inbound ? outbound : inbound);
    }

    /**
     * Returns whether bytes read from one side still wait in svcproxy for the other: queued for its full socket, or
     * left unread behind a pause. Closing with a FIN then would end the other side's stream short, as if whole.
     */
    boolean holdsBytes() {
        return up.holdsBytes() || down.holdsBytes();
    }

    /** Returns the first error that failed the relay, or {@code null} when none did. */
    Throwable failure() {
        return failure;
    }

    /** Handles {@code closed} having closed without an error: the other channel is closed at once. */
    void closed(Channel closed) {
        Channel other = closed == inbound ? outbound : inbound;
        if (log.isDebugEnabled() && other.isOpen()) {
            log.debug("Relay closed first={} client={} up={} down={}", closed == inbound ? "client" : "endpoint",
                    inbound.remoteAddress(), up, down);
        }
        if (other.isOpen()) {
            other.flush(); // what this turn relayed to it and has not flushed yet (TurnFlush) goes before the FIN
            other.close();
        }
    }

    /**
     * Closes {@code channel} with a reset (SO_LINGER 0) because the other side failed. Whatever the failure was
     * (a reset, a failed write, or an exception Netty raised on a dying channel, such as a flush after it went
     * inactive), the peer behind {@code channel} must not get a FIN, which would read as a complete stream.
     */
    static void reset(Channel channel) {
        if (channel == null || !channel.isOpen()) {
            return;
        }
        // also while connecting: the endpoint may have accepted already, and must see a reset, not a FIN
        Resets.onClose(channel);
        channel.close();
    }

    /**
     * Returns whether the end of stream just read from {@code channel} was in fact a reset. The kernel reports a
     * reset once, to whichever system call asks first, and a read after it sees the end of stream. On io_uring a
     * send and a receive of the same socket are both in flight, so a reset may fail the send (its completion
     * comes later) and end the receive: passing that on as a FIN would make a reset look like a complete stream
     * (RelayTortureTest caught it). A socket whose peer sent a FIN is in CLOSE_WAIT; one that was reset is CLOSED.
     * After our own FIN a clean close leaves it CLOSED too (the kernel hands TIME_WAIT to a mini socket), so a
     * reset after our FIN still reads as an end there, as it would with a reset arriving just after the peer's
     * FIN. One {@code getsockopt(TCP_INFO)} per FIN, on io_uring only: epoll reads and writes one at a time on
     * the event loop, and the first to meet the reset fails the relay.
     */
    private static boolean resetReadAsEnd(Channel channel) {
        if (!(channel instanceof IoUringSocketChannel uring) || uring.isOutputShutdown()) {
            return false;
        }
        try {
            return uring.tcpInfo().state() == TCP_CLOSE;
        } catch (io.netty.channel.ChannelException e) {
            return true; // the socket is gone already: nothing was closed cleanly
        }
    }

    /**
     * Returns whether the peer of {@code channel}, an io_uring channel, has sent its FIN or reset the connection:
     * its TCP state is past ESTABLISHED on the receiving side (CLOSE_WAIT, CLOSING, LAST_ACK or CLOSED). Always
     * false on other transports, which read such an end by themselves.
     */
    private static boolean peerEnded(Channel channel) {
        if (!(channel instanceof IoUringSocketChannel uring)) {
            return false;
        }
        try {
            int state = uring.tcpInfo().state();
            return state == TCP_CLOSE || state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
        } catch (io.netty.channel.ChannelException e) {
            return true;
        }
    }

    /** States of Linux's {@code enum tcp_state} ({@code include/net/tcp_states.h}). */
    private static final int TCP_CLOSE = 7;
    private static final int TCP_CLOSE_WAIT = 8;
    private static final int TCP_LAST_ACK = 9;
    private static final int TCP_CLOSING = 11;

    /** One direction of the relay: bytes read from {@code from} are written to {@code to}. */
    final class Direction {
        private final Channel from;
        private final Channel to;
        private final boolean toEndpoint;
        /** {@code from} is not read until {@code to} drains. */
        private boolean paused;
        /** {@code from} sent its FIN: its input is shut down and it is never read again. */
        private boolean ended;
        /** The FIN was passed on: {@code to} is flushed and its output shut down. */
        private boolean finPassed;
        /** Bytes read from {@code from} and written to {@code to}. */
        private long bytes;
        /** Bytes came from {@code from} while it was PAUSED (a read in flight, or draining after POLLRDHUP). */
        private boolean readWhilePaused;

        private Direction(Channel from, Channel to, boolean toEndpoint) {
            this.from = from;
            this.to = to;
            this.toEndpoint = toEndpoint;
        }

        /** OPEN: forwards {@code msg} to {@code to}, pausing {@code from} when {@code to} is over its mark. */
        void read(Object msg) {
            if (paused) {
                readWhilePaused = true;
            }
            if (!to.isActive()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            activity.last = System.nanoTime();
            if (msg instanceof ByteBuf buf) {
                int n = buf.readableBytes();
                bytes += n;
                if (toEndpoint) {
                    servicePort.addBytesToEndpoint(n);
                    counters.addBytesToEndpoint(n);
                } else {
                    servicePort.addBytesToClient(n);
                    counters.addBytesToClient(n);
                }
            }
            // no promise: a failed write fires exceptionCaught on the channel written to, which resets the other
            to.write(msg, to.voidPromise());
            if (!paused && !to.isWritable()) {
                // stops this read loop too: Netty checks autoRead before each read
                paused = true;
                from.config().setAutoRead(false);
            }
        }

        /** Starts reading from {@code from} for good, unless the relay holds it back or it ended already. */
        void startReading() {
            if (!paused && !ended && from.isActive()) {
                from.config().setAutoRead(true);
            }
        }

        /**
         * Flushes what the read loop of {@code from} wrote, at the end of the event loop's turn (TurnFlush); on
         * io_uring, reads on to a peer's end (below).
         */
        void readComplete() {
            if (to.isActive()) {
                TurnFlush.flushLater(to);
            }
            if (readWhilePaused) {
                readWhilePaused = false;
                if (paused && !ended && from.isActive() && peerEnded(from)) {
                    // Netty 4.2.18's io_uring drains a socket on POLLRDHUP even while AUTO_READ is off, but ends
                    // that read loop when the socket is empty, before it reads the end of stream or the reset
                    // that POLLRDHUP announced, and nothing reads it later while the relay holds this side back:
                    // a client's reset went unnoticed (FaultInjectionTest, slow-reading endpoints). One more read
                    // loop gets it; it happens only when the peer has ended or reset (TCP state), so backpressure
                    // on a live peer is kept.
                    from.read();
                }
            }
        }

        /** PAUSED → OPEN when {@code to} drained; an ENDING or ENDED direction's input is never resumed. */
        void writabilityChanged() {
            if (!paused || !to.isWritable()) {
                return;
            }
            paused = false;
            readWhilePaused = false;
            activity.last = System.nanoTime();
            if (!ended && from.isActive()) {
                from.config().setAutoRead(true);
            }
        }

        /** OPEN or PAUSED → ENDING: {@code from} sent its FIN. */
        void inputShutdown() {
            if (ended) {
                return;
            }
            if (resetReadAsEnd(from)) {
                failed(from, new IOException("Connection reset by peer (read as end of stream)"));
                return;
            }
            ended = true;
            lease.halfClosed();
            passFin();
        }

        /**
         * ENDING → ENDED: shuts {@code to}'s output down once everything written to it before is flushed; closes
         * both channels when the other direction has ended too.
         */
        private void passFin() {
            if (!to.isActive()) {
                return; // closed, or closing: closed() or failed() takes care of the other channel
            }
            if (to instanceof RelayEpollSocketChannel epoll) {
                // bytes read in this turn and not yet sent (an endpoint's answer that came with its FIN) leave with
                // the FIN in one segment, not as a segment and a FIN of its own: a packet and the peer's ACK of it
                // less per connection of a protocol that closes after its answer
                try {
                    epoll.corkUntilFin();
                } catch (IOException e) {
                    failed(to, e);
                    return;
                }
            }
            to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) flushed -> {
                if (!flushed.isSuccess()) {
                    failed(to, flushed.cause());
                    return;
                }
                if (other().finPassed) {
                    // the last FIN: `to` sent its own FIN, which was passed on, so its input is at end of stream,
                    // and everything written to it is flushed: closing it sends the FIN after those bytes, as
                    // shutdownOutput would, without the shutdown call (and the exception with a stack trace that
                    // Netty builds for every shutdownOutput)
                    finPassed = true;
                    inbound.close();
                    outbound.close();
                    return;
                }
                if (to instanceof AbstractEpollStreamChannel || to instanceof IoUringSocketChannel) {
                    // the socket's own shutdown: Netty's shutdownOutput would also build an exception with its
                    // stack trace to fail writes queued after it, and there are none: everything is flushed (on
                    // io_uring: every send completed), and nothing is written to `to` after its FIN. Netty reads
                    // the socket's state, so it knows the output is shut down (no flush on EPOLLOUT).
                    try {
                        ((Socket) ((UnixChannel) to).fd()).shutdown(false, true);
                    } catch (IOException | RuntimeException e) {
                        failed(to, e);
                        return;
                    }
                    outputShut();
                    return;
                }
                if (!(to instanceof DuplexChannel duplex)) {
                    to.close();
                    return;
                }
                duplex.shutdownOutput().addListener((ChannelFutureListener) shut -> {
                    if (!shut.isSuccess()) {
                        failed(to, shut.cause());
                        return;
                    }
                    outputShut();
                });
            });
        }

        /** ENDING → ENDED: {@code to}'s output is shut down; closes both channels if the other way ended too. */
        private void outputShut() {
            finPassed = true;
            if (bothEnded()) {
                inbound.close();
                outbound.close();
            }
        }

        /** Returns the other direction. */
        private Direction other() {
            return this == up ? down : up;
        }

        /** Whether bytes of this direction wait for {@code to}: paused, or queued and not written yet. */
        boolean holdsBytes() {
            if (finPassed) {
                return false;
            }
            if (paused) {
                return true;
            }
            ChannelOutboundBuffer queued = to.unsafe().outboundBuffer();
            return queued != null && queued.totalPendingWriteBytes() > 0;
        }

        /** Returns the bytes relayed this way. */
        long bytes() {
            return bytes;
        }

        /** Returns whether {@code from} sent its FIN. */
        boolean ended() {
            return ended;
        }

        @Override
        public String toString() {
            String state = finPassed ? "ENDED" : ended ? "ENDING" : paused ? "PAUSED" : "OPEN";
            return (toEndpoint ? "up " : "down ") + state;
        }
    }
}
