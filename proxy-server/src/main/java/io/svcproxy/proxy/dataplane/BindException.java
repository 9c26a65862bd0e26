package io.svcproxy.proxy.dataplane;

import java.io.IOException;

/** Thrown when a listener cannot be bound; the message names the address and the reason. */
public final class BindException extends IOException {
    private static final long serialVersionUID = 1L;

    public BindException(String address, Throwable cause) {
        super("cannot bind " + address + ": " + (cause.getMessage() == null ? cause : cause.getMessage()), cause);
    }
}
