package io.svcproxy.proxy.udp;

import io.svcproxy.proxy.connlog.EndReason;
import java.net.PortUnreachableException;

/**
 * Why a UDP flow ended, with the connection log's {@code end} each reason is written as: the flow's equivalents
 * of TCP's ends. The lower-case name is the one the flow's debug line gives.
 */
enum FlowEnd {
    /** Its endpoint sent every answer owed ({@code udpResponses}): a clean end. */
    RESPONSES("responses", EndReason.FIN),
    /** No datagram either way for its idle timeout. */
    IDLE("idle", EndReason.IDLE),
    /** Found expired when its client sent again. */
    EXPIRED("expired", EndReason.IDLE),
    /** ICMP port unreachable (or the way to the endpoint unreachable): as a reset. */
    REFUSED("refused", EndReason.RST),
    /** Its endpoint left the list in force, or may take no traffic. */
    NOT_USABLE("endpoint not usable", EndReason.DRAIN),
    /** The Service port's listener closed. */
    CLOSED("closed", EndReason.DRAIN),
    /** Its socket failed otherwise. */
    ERROR("error", EndReason.ERROR),
    /** Its socket could not be opened. */
    SOCKET_FAILED("socket failed", EndReason.ERROR);

    private final String text;
    private final EndReason logged;

    FlowEnd(String text, EndReason logged) {
        this.text = text;
        this.logged = logged;
    }

    /** What the connection log writes as this flow's {@code end}. */
    EndReason logged() {
        return logged;
    }

    @Override
    public String toString() {
        return text;
    }

    /**
     * Whether the kernel reported the endpoint (or the way to it) unreachable: ICMP port unreachable
     * (ECONNREFUSED), host or network unreachable (EHOSTUNREACH, ENETUNREACH), whichever of Java's or Netty's
     * exceptions carries it.
     */
    static boolean refused(Throwable cause) {
        if (cause instanceof PortUnreachableException || cause instanceof java.net.NoRouteToHostException) {
            return true;
        }
        String message = String.valueOf(cause.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return message.contains("refused") || message.contains("unreachable") || message.contains("no route");
    }
}
