package io.svcproxy.ingress.proxy;

import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.svcproxy.ingress.TlsHandshakeFailure;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * Why a TLS handshake failed, from the cause Netty reports it with (the {@code SslHandshakeCompletionEvent}'s or the
 * SNI handler's {@code SniCompletionEvent}'s, or the exception that ends the connection) and its cause chain:
 * <ul>
 *   <li>{@link NoCertificate} (the SNI lookup found no certificate at all): {@code no_certificate};
 *   <li>{@link SslHandshakeTimeoutException} (the SNI handler's timeout waiting for a ClientHello, or the
 *       {@code SslHandler}'s for the rest): {@code timeout};
 *   <li>{@link ClosedChannelException} (the connection closed during the handshake: the {@code SslHandler}'s
 *       {@code channelInactive}) or a network {@link IOException} that is not TLS's (a reset, a broken pipe; also as
 *       the cause of the {@code SslHandler}'s "failure when writing TLS control frames"): {@code closed};
 *   <li>an alert the client sent, in plaintext ({@link HandshakeAlerts}: OpenSSL's clients under TLS 1.3, which
 *       the engines report as a record they cannot read) or as the engine reports it: the JDK's says "Received
 *       fatal alert: certificate_unknown", OpenSSL (BoringSSL) names the error by the alert, {@code
 *       error:10000416:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_UNKNOWN}, its reason code 1000 plus the
 *       alert's ({@code SSL_AD_REASON_OFFSET}): {@code client_alert} (a {@code close_notify} or
 *       {@code user_canceled}: {@code closed});
 *   <li>anything else, the listener refusing what the client sent (no shared version or cipher, a malformed
 *       ClientHello, one past the SNI handler's limit, a record that is not TLS): {@code protocol}.
 * </ul>
 * Which messages each provider gives is checked by {@code TlsHandshakeFailuresTest} with both.
 */
final class HandshakeFailures {
    /** OpenSSL's error string: {@code error:} and the packed error code in hex (library and reason). */
    private static final Pattern OPENSSL_ERROR = Pattern.compile("^error:([0-9a-fA-F]{1,8}):");
    /** The JDK engine's words for an alert it received during the handshake. */
    private static final Pattern JDK_ALERT =
            Pattern.compile("Received fatal alert: (\\w+)|Received (close_notify) during handshake");
    /** BoringSSL's {@code SSL_AD_REASON_OFFSET}: a received alert's reason is it plus the alert's code. */
    private static final int ALERT_REASON_OFFSET = 1000;
    private static final int CLOSE_NOTIFY = 0;
    private static final int USER_CANCELED = 90;
    /** How deep a cause chain is looked into (Netty wraps a cause once or twice). */
    private static final int MAX_DEPTH = 8;

    private HandshakeFailures() {
    }

    /** The SNI lookup's failure when no certificate is configured at all. */
    static final class NoCertificate extends SSLHandshakeException {
        NoCertificate(String hostname) {
            super("no certificate (SNI: " + hostname + ")");
        }
    }

    /**
     * The reason of a handshake that failed with {@code cause} ({@code null}: closed before a ClientHello came), the
     * client having sent {@code plaintextAlert} before ({@link HandshakeAlerts#alert}; -1: none).
     */
    static TlsHandshakeFailure reasonOf(Throwable cause, int plaintextAlert) {
        int depth = 0;
        for (Throwable t = cause; t != null && depth < MAX_DEPTH; t = t.getCause(), depth++) {
            if (t instanceof NoCertificate) {
                return TlsHandshakeFailure.NO_CERTIFICATE;
            }
            if (t instanceof SslHandshakeTimeoutException) {
                return TlsHandshakeFailure.TIMEOUT;
            }
        }
        if (plaintextAlert >= 0) {
            return ofAlert(plaintextAlert);
        }
        depth = 0;
        for (Throwable t = cause; t != null && depth < MAX_DEPTH; t = t.getCause(), depth++) {
            if (t instanceof ClosedChannelException || t instanceof IOException && !(t instanceof SSLException)) {
                return TlsHandshakeFailure.CLOSED;
            }
            int alert = t instanceof SSLException ? receivedAlert(t.getMessage()) : -1;
            if (alert >= 0) {
                return ofAlert(alert);
            }
        }
        return cause == null ? TlsHandshakeFailure.CLOSED : TlsHandshakeFailure.PROTOCOL;
    }

    /** A client's alert: a close ({@code close_notify}, {@code user_canceled}) or a refusal. */
    private static TlsHandshakeFailure ofAlert(int alert) {
        return alert == CLOSE_NOTIFY || alert == USER_CANCELED ? TlsHandshakeFailure.CLOSED
                : TlsHandshakeFailure.CLIENT_ALERT;
    }

    /** The code of the alert an SSLException's {@code message} says the client sent, or -1 when it says none. */
    static int receivedAlert(String message) {
        if (message == null) {
            return -1;
        }
        Matcher openSsl = OPENSSL_ERROR.matcher(message);
        if (openSsl.find()) {
            // ERR_GET_REASON: the low 12 bits of the packed code
            int reason = (int) (Long.parseLong(openSsl.group(1), 16) & 0xFFF);
            return reason >= ALERT_REASON_OFFSET && reason <= ALERT_REASON_OFFSET + 255
                    ? reason - ALERT_REASON_OFFSET : -1;
        }
        Matcher jdk = JDK_ALERT.matcher(message);
        if (jdk.find()) {
            String alert = jdk.group(1) != null ? jdk.group(1) : jdk.group(2);
            return alert.equals("close_notify") ? CLOSE_NOTIFY : alert.equals("user_canceled") ? USER_CANCELED : 255;
        }
        return -1;
    }
}
