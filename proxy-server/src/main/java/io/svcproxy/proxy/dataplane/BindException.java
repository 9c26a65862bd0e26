package io.svcproxy.proxy.dataplane;

import java.io.IOException;

/** Thrown when a listener cannot be bound; the message names the address and the reason. */
public final class BindException extends IOException {
    private static final long serialVersionUID = 1L;

    public BindException(String address, Throwable cause) {
        super("cannot bind " + address + ": " + reason(cause), cause);
    }

    /** Returns the reason without the native call's prefix, as in {@code bind(..) failed with error(-98): }. */
    private static String reason(Throwable cause) {
        String message = cause.getMessage();
        if (message == null) {
            return cause.toString();
        }
        int errno = message.indexOf("): ");
        return message.startsWith("bind(") && errno > 0 ? message.substring(errno + 3) : message;
    }
}
