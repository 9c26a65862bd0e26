package io.svcproxy.proxy.vip;

/**
 * Thrown at start when {@code proxy.vipInterface} cannot be used: no CAP_NET_ADMIN, no {@code ip} command, an
 * interface that is missing and cannot be created, or not Linux. The message names the interface and what to do;
 * the command line prints it and exits with code 1.
 */
public final class VipInterfaceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public VipInterfaceException(String message) {
        super(message);
    }

    public VipInterfaceException(String message, Throwable cause) {
        super(message, cause);
    }
}
