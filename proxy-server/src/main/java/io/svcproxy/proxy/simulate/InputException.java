package io.svcproxy.proxy.simulate;

/** Bad input to the simulator, with where: {@code FILE:LINE: message}. */
public final class InputException extends Exception {
    private static final long serialVersionUID = 1L;

    public InputException(String file, long line, String message) {
        super(file + ":" + line + ": " + message);
    }

    /** A problem with a command-line option or the choice of Service: {@code WHERE: message}. */
    public InputException(String where, String message) {
        super(where + ": " + message);
    }
}
